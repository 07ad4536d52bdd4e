/**
 * The server-side request forgery guard for every request the server makes to a URL a user gave it (OGC callbacks;
 * `{"url":…}` inputs can use it too): http and https only, no credentials in the URL, and no address that is not on
 * the public internet — loopback, private, link-local, unique-local, carrier-grade NAT, multicast, documentation and
 * the other special-purpose ranges — unless the URL's host is one an administrator allows. Names are checked on the
 * addresses they resolve to, in the lookup the connection itself uses ({@link lookup}), so a name cannot resolve to a
 * public address for the check and a private one for the connection (DNS rebinding).
 *
 * @module
 */
import { lookup as dnsLookup, type LookupAddress } from "node:dns"
import { BlockList, isIP } from "node:net"

/**
 * The hosts (names or addresses, compared without case) requested even though they are, or resolve to, addresses
 * that are not public: the intranet servers an administrator trusts.
 *
 * @category models
 */
export type AllowedHosts = ReadonlyArray<string>

/** The error code of a connection refused by {@link lookup}. @category models */
export const refusedCode = "EREFUSEDADDRESS"

// Every range that is not the public internet (the IANA special-purpose address registries), IPv4 and IPv6.
const blocked = new BlockList()
for (const [network, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.88.99.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4]
] as const) {
  blocked.addSubnet(network, prefix, "ipv4")
}
for (const [network, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["::", 96],
  ["64:ff9b::", 96],
  ["64:ff9b:1::", 48],
  ["100::", 64],
  ["2001::", 23],
  ["2001:db8::", 32],
  ["2002::", 16],
  ["fc00::", 7],
  ["fe80::", 10],
  ["fec0::", 10],
  ["ff00::", 8]
] as const) {
  blocked.addSubnet(network, prefix, "ipv6")
}

/**
 * Whether an address is on the public internet (an IPv4-mapped IPv6 address is judged by its IPv4 address).
 *
 * @category guards
 */
export const isPublicAddress = (address: string): boolean => {
  const version = isIP(address)
  if (version === 0) return false
  if (version === 4) return !blocked.check(address, "ipv4")
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1]
  if (mapped !== undefined) return !blocked.check(mapped, "ipv4")
  // `::ffff:7f00:1` is 127.0.0.1 written in hex.
  const hexMapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address)
  if (hexMapped !== null) {
    const [hi, lo] = [Number.parseInt(hexMapped[1] ?? "0", 16), Number.parseInt(hexMapped[2] ?? "0", 16)]
    return !blocked.check(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`, "ipv4")
  }
  return !blocked.check(address, "ipv6")
}

/** A URL's host as compared: without IPv6 brackets, lower case. */
export const hostOf = (url: URL): string => url.hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase()

/** Whether the URL's host is one of the allowed hosts. @category guards */
export const isAllowedHost = (url: URL, allowed: AllowedHosts): boolean =>
  allowed.some((h) => h.toLowerCase() === hostOf(url))

/**
 * What is wrong with a URL before any request: not a URL, not http(s), credentials in it, or a literal address that
 * is not public and not allowed (names are checked when they resolve, by {@link lookup}). `undefined` when it may be
 * requested.
 *
 * @category guards
 */
export const problem = (text: string, allowed: AllowedHosts = []): string | undefined => {
  if (!URL.canParse(text)) return "it is not a URL"
  const url = new URL(text)
  if (url.protocol !== "http:" && url.protocol !== "https:") return "only http and https URLs are requested"
  if (url.username !== "" || url.password !== "") return "a URL with a user name or password is not requested"
  const host = hostOf(url)
  if (isIP(host) !== 0 && !isPublicAddress(host) && !isAllowedHost(url, allowed)) {
    return `${host} is not a public address (an administrator may allow the host)`
  }
  return undefined
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | Array<LookupAddress>,
  family?: number
) => void

/**
 * A DNS lookup for `node:http`'s `lookup` option that fails (code {@link refusedCode}) for a name resolving to any
 * address that is not public, unless the URL's host is allowed.
 *
 * @category constructors
 */
export const lookup =
  (url: URL, allowed: AllowedHosts = []) =>
  (hostname: string, options: { readonly all?: boolean }, callback: LookupCallback): void => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error !== null) return callback(error, [])
      const list = addresses as Array<LookupAddress>
      const bad = isAllowedHost(url, allowed) ? undefined : list.find((a) => !isPublicAddress(a.address))
      if (bad !== undefined || list.length === 0) {
        const refusal: NodeJS.ErrnoException = new Error(
          bad === undefined
            ? `${hostname} has no address`
            : `${hostname} resolves to ${bad.address}, which is not a public address (an administrator may allow the host)`
        )
        refusal.code = refusedCode
        return callback(refusal, [])
      }
      const first = list[0] as LookupAddress
      return options.all === true ? callback(null, list) : callback(null, first.address, first.family)
    })
  }
