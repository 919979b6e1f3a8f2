/** Field names whose values are credentials in the alert formats we know (passphrase, secret, key, token, signalToken, api_key…). */
const SECRET_NAME = '[A-Za-z_]*(?:passphrase|password|secret|token|key)[A-Za-z_]*';
const JSON_SECRET = new RegExp(`("${SECRET_NAME}"\\s*:\\s*)("(?:[^"\\\\]|\\\\.)*"|-?[0-9][0-9.eE+-]*)`, 'gi');
const TEXT_SECRET = new RegExp(`\\b(${SECRET_NAME})(\\s*[=:]\\s*)([^,&|;\\s]+)`, 'gi');
export const REDACTED = '[redacted]';

/**
 * The start of a refused body for the audit log, without credentials: values of secret-looking
 * fields (JSON or `key=value` text) and every occurrence of the secrets given (such as the
 * passphrase the parser found) are replaced, then the text is cut to `maxBytes` UTF-8 bytes.
 */
export function redactBody(body: Buffer | string, maxBytes: number, secrets: readonly (string | null | undefined)[] = []): string {
  if (maxBytes <= 0) return '';
  // Redact before cutting, so a secret split at the cut cannot survive half-visible.
  let text = (typeof body === 'string' ? body : body.toString('utf8')).slice(0, maxBytes * 4);
  for (const secret of secrets) {
    if (secret && secret.length >= 3) text = text.split(secret).join(REDACTED);
  }
  text = text.replace(JSON_SECRET, `$1"${REDACTED}"`).replace(TEXT_SECRET, `$1$2${REDACTED}`);
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  // Cut on a character boundary: drop a trailing partial UTF-8 sequence.
  return bytes.subarray(0, maxBytes).toString('utf8').replace(/\uFFFD$/, '');
}
