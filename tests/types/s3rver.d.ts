// s3rver ships no types; the one test helper that starts it (tests/s3/s3-servers.ts) types what it uses.
declare module 's3rver';
