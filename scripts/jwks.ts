/**
 * `npm run -s jwks < key.pem`: the JWKS users would publish for a signing key (its public half,
 * kid = the RFC 7638 thumbprint, or JWT_KEY_ID), for JWT_PUBLIC_KEYS ahead of a rotation.
 */
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createLogger } from '../subgraphs/kit/src';
import { SigningKeys } from '../subgraphs/users/src/auth/signing-keys';

async function main(): Promise<void> {
  const privateKey = createPrivateKey({ key: readFileSync(0, 'utf8').replace(/\\n/g, '\n'), format: 'pem' });
  const keys = await SigningKeys.create({ privateKey, keyId: process.env.JWT_KEY_ID || undefined, production: true, log: createLogger('jwks', 'silent') });
  console.log(JSON.stringify(keys.jwks));
}

void main();
