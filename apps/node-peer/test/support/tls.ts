import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * Writes a self-signed P-256 certificate for `localhost` and 127.0.0.1, valid one day, to `cert.pem` and `key.pem`
 * in `dir` (what `--tls-cert` and `--tls-key` take); returns their paths.
 */
export function selfSignedCertificate(dir: string): { cert: string; key: string } {
  const paths = { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1']
      .concat(['-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'])
      .concat(['-keyout', paths.key, '-out', paths.cert]),
    { stdio: 'ignore' },
  );
  return paths;
}
