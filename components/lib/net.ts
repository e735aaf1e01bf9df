/**
 * Network addresses and S3 names: the patterns the stack config and the components both check, so
 * that the two always agree.
 */

const octet = "(25[0-5]|2[0-4]\\d|1?\\d?\\d)";

/** The source of an unanchored IPv4 address pattern, for building larger patterns. */
export const ipv4Source = `${octet}(\\.${octet}){3}`;

/** An IPv4 address such as `192.168.50.10`. */
export const ipv4Pattern = new RegExp(`^${ipv4Source}$`);

/** An IPv4 CIDR such as `192.168.50.10/32`. */
export const ipv4CidrPattern = new RegExp(`^${ipv4Source}\\/(\\d|[12]\\d|3[0-2])$`);

/** Whether an IPv4 address lies in a CIDR (both already well-formed). */
export function inCidr(ip: string, cidr: string): boolean {
  const num = (a: string) => a.split(".").reduce((n, o) => n * 256 + Number(o), 0);
  const [base, bits] = cidr.split("/");
  const size = 2 ** (32 - Number(bits));
  return Math.floor(num(ip) / size) === Math.floor(num(base!) / size);
}

/** An S3 bucket name: 3-63 lowercase letters, digits, dots and hyphens, alphanumeric at both ends. */
export const s3BucketPattern = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** An S3 key prefix: path segments of letters, digits, `.`, `_`, `-`, no slash at either end. */
export const s3PrefixPattern = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;
