/** A meeting code as meetings issues it: three groups of four lower-case letters. */
const CODE = /^[a-z]{4}-[a-z]{4}-[a-z]{4}$/;

/**
 * The meeting id in what someone typed or pasted into "Join with a code or link": a code like
 * `abcd-efgh-ijkl` (any case, surrounding spaces ignored), or an http(s) link whose path is
 * `/m/<code>` (the invite link, from this deployment or another). Null for anything else.
 */
export function meetingIdFrom(input: string): string | null {
  const text = input.trim();
  if (CODE.test(text.toLowerCase())) return text.toLowerCase();
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return null;
  const match = /^\/m\/([^/]+)\/?$/.exec(url.pathname);
  return match && CODE.test(match[1]) ? match[1] : null;
}
