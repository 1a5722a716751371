// `pnpm bench`'s start-up floor: Node with the libraries every `pgdrill backup` needs and nothing
// of pgdrill (commander for the flags, zod for the config, pg for the connection and lock, execa
// for pg_dump), imported and nothing else. Plain JavaScript, as an installed pgdrill runs.
await import('commander');
await import('zod');
await import('pg');
await import('execa');
