/**
 * What may be sent as an HTTP header, checked before anything is sent: a value with CR/LF would
 * otherwise fail every request at Node's own check ("Invalid character in header content"), a
 * failure that looks transient and is retried for the whole budget. The descriptions never
 * repeat the value, which may be a credential. Knows nothing of OTel.
 */

/** RFC 9110 §5.1: a field name is a token (RFC 9110 §5.6.2 tchar). */
const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * RFC 9110 §5.5: no CR, LF, NUL or other control character but HTAB. Node refuses the same
 * set, and anything above U+00FF (a field value is bytes, and Node writes them as Latin-1).
 */
const FIELD_VALUE_RE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Why `name` cannot be a header name, or undefined when it can. */
export function headerNameProblem(name: string): string | undefined {
  if (name === '') return 'is an empty header name';
  if (!TOKEN_RE.test(name))
    return "is not a valid header name (RFC 9110 §5.1: letters, digits and !#$%&'*+-.^_`|~)";
  return undefined;
}

/** Why `value` cannot be a header value, or undefined when it can. Never quotes the value. */
export function headerValueProblem(value: string): string | undefined {
  if (/[\r\n]/.test(value)) return 'must not contain CR or LF (RFC 9110 §5.5)';
  if (!FIELD_VALUE_RE.test(value))
    return 'must hold only printable Latin-1 characters, spaces and tabs (RFC 9110 §5.5)';
  return undefined;
}

/** A header name as it may appear in a message: quoted, its control characters escaped. */
export function quoteHeaderName(name: string): string {
  return JSON.stringify(name.length > 60 ? name.slice(0, 60) + '…' : name);
}
