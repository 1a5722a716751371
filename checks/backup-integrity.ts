import { defineCheck } from '../src/check/index.ts';

export default defineCheck({
  id: 'backup-integrity',
  title: 'Backup integrity: stored and plaintext SHA-256 match the manifest',
  description: "Stored bytes and decrypted dump hash to the manifest's SHA-256; every encrypted chunk authenticated.",
  needsDatabase: false,
  pointInTime: "pgBackRest checks its own files: see the pitr-repository check (pgbackrest verify)",
  async run({ manifest, state }) {
    const dump = manifest.objects.dump;
    if (state.restore.failedStage === 'verify') {
      return { status: 'fail', summary: state.restore.error ?? 'verification failed', evidence: { key: dump.key, error: state.restore.errorKind } };
    }
    const { storedSha256, plaintextSha256 } = state.verified;
    if (storedSha256 !== dump.sha256 || plaintextSha256 !== dump.plaintextSha256) {
      return {
        status: 'fail',
        summary: `not verified: ${state.restore.error ?? 'the backup was never fully downloaded'}`,
        evidence: { key: dump.key, storedSha256, plaintextSha256 },
      };
    }
    return {
      status: 'pass',
      summary: `${dump.key}: ${dump.size} bytes, SHA-256 ${dump.sha256.slice(0, 16)}…; plaintext ${plaintextSha256.slice(0, 16)}… verified`,
      evidence: {
        key: dump.key,
        storedSize: dump.size,
        storedSha256,
        plaintextSize: dump.plaintextSize,
        plaintextSha256,
        encryption: manifest.encryption,
      },
    };
  },
});
