// The archive listing parser (issue 10 item 9) on real `pg_restore --list` output.
import { describe, expect, it } from 'vitest';
import { listingHasTable, parseArchiveListing } from '../../src/restore/archive.ts';

// Captured once from PostgreSQL 15.18: `pg_dump -Fc` of a throwaway embedded sandbox (src/sandbox)
// holding the objects below, then `pg_restore --list` of that archive, unedited. It documents the
// format: `;` comment and header lines; `dumpId; tableoid oid TYPE schema name owner`, where
// schema is `-` for objects outside a schema, names with spaces or quotes are printed bare, not
// quoted, and extensions have an empty owner (the line ends in a space).
//
//   CREATE ROLE app_owner NOLOGIN; CREATE ROLE "report ""reader""" NOLOGIN;
//   CREATE EXTENSION pgcrypto;
//   CREATE SCHEMA "Sales Dept" AUTHORIZATION app_owner;
//   CREATE TYPE public.order_state AS ENUM ('new', 'paid');
//   CREATE TABLE public.customers (id serial PRIMARY KEY, email text NOT NULL);           -- owner app_owner
//   CREATE TABLE public.orders (..., customer_id int REFERENCES public.customers(id), state public.order_state,
//     placed date NOT NULL) PARTITION BY RANGE (placed);                                 -- owner pgdrill
//   CREATE TABLE public.orders_2026 PARTITION OF public.orders FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
//   CREATE TABLE "Sales Dept"."order lines" (id int PRIMARY KEY, note text);             -- owner app_owner
//   CREATE TABLE public."say ""hi""" (id int);
//   COMMENT ON TABLE public.customers ...; CREATE INDEX customers_email ...;
//   CREATE VIEW public.paid_orders ...; GRANT SELECT ON public.customers TO "report ""reader""";
// One string per line, so the trailing space of an empty owner cannot be trimmed away unseen.
const LISTING = [
  ';',
  '; Archive created at 2026-12-07 08:27:43 UTC',
  ';     dbname: shop',
  ';     TOC Entries: 29',
  ';     Compression: -1',
  ';     Dump Version: 1.14-0',
  ';     Format: CUSTOM',
  ';     Integer: 4 bytes',
  ';     Offset: 8 bytes',
  ';     Dumped from database version: 15.18 (Debian 15.18-0+deb12u1)',
  ';     Dumped by pg_dump version: 15.18 (Debian 15.18-0+deb12u1)',
  ';',
  ';',
  '; Selected TOC Entries:',
  ';',
  '7; 2615 16424 SCHEMA - Sales Dept app_owner',
  '2; 3079 16387 EXTENSION - pgcrypto ',
  '3420; 0 0 COMMENT - EXTENSION pgcrypto ',
  '881; 1247 16426 TYPE public order_state pgdrill',
  '220; 1259 16454 TABLE Sales Dept order lines app_owner',
  '217; 1259 16432 TABLE public customers app_owner',
  '3421; 0 0 COMMENT public TABLE customers app_owner',
  '3422; 0 0 ACL public TABLE customers app_owner',
  '216; 1259 16431 SEQUENCE public customers_id_seq app_owner',
  '3423; 0 0 SEQUENCE OWNED BY public customers_id_seq app_owner',
  '218; 1259 16440 TABLE public orders pgdrill',
  '219; 1259 16448 TABLE public orders_2026 pgdrill',
  '222; 1259 16465 VIEW public paid_orders pgdrill',
  '221; 1259 16461 TABLE public say "hi" pgdrill',
  '3258; 0 0 TABLE ATTACH public orders_2026 pgdrill',
  '3259; 2604 16435 DEFAULT public customers id app_owner',
  '3412; 0 16454 TABLE DATA Sales Dept order lines app_owner',
  '3410; 0 16432 TABLE DATA public customers app_owner',
  '3411; 0 16448 TABLE DATA public orders_2026 pgdrill',
  '3413; 0 16461 TABLE DATA public say "hi" pgdrill',
  '3424; 0 0 SEQUENCE SET public customers_id_seq app_owner',
  '3264; 2606 16460 CONSTRAINT Sales Dept order lines order lines_pkey app_owner',
  '3262; 2606 16439 CONSTRAINT public customers customers_pkey app_owner',
  '3260; 1259 16464 INDEX public customers_email app_owner',
  '3265; 2606 16443 FK CONSTRAINT public orders orders_customer_id_fkey pgdrill',
].join('\n');

const entryLines = LISTING.split('\n').filter((line) => !line.startsWith(';'));

describe('parseArchiveListing', () => {
  const listing = parseArchiveListing(LISTING);

  it('reads every entry line and skips the `;` header and comment lines', () => {
    expect(listing.entries).toHaveLength(entryLines.length);
    expect(listing.entries.map((e) => e.text)).not.toContainEqual(expect.stringContaining('Archive created'));
    expect(listing.entries[0]).toEqual({ id: 7, text: 'SCHEMA - Sales Dept app_owner', owner: 'app_owner' });
    expect(listing.entries.at(-1)).toEqual({ id: 3265, text: 'FK CONSTRAINT public orders orders_customer_id_fkey pgdrill', owner: 'pgdrill' });
  });

  it('counts TABLE definitions (partitioned parent and partition included) apart from TABLE DATA and TABLE ATTACH', () => {
    // customers, orders, orders_2026, "Sales Dept"."order lines", say "hi"; a partitioned parent has no data entry.
    expect(listing.tableDefinitions).toBe(5);
    expect(listing.tableData).toBe(4);
  });

  it('gives entries without an owner an empty owner, and collects the owners of the rest', () => {
    expect(listing.entries.filter((e) => e.owner === '').map((e) => e.text)).toEqual(['EXTENSION - pgcrypto ', 'COMMENT - EXTENSION pgcrypto ']);
    expect(listing.owners).toEqual(new Set(['app_owner', 'pgdrill']));
  });

  it('ignores entries commented out with `;` as in a --use-list file, and blank lines', () => {
    const edited = LISTING.replace('3413; 0 16461 TABLE DATA public say "hi" pgdrill', ';3413; 0 16461 TABLE DATA public say "hi" pgdrill').replace(
      '217; 1259 16432 TABLE public customers app_owner',
      '; 217; 1259 16432 TABLE public customers app_owner\n',
    );
    const parsed = parseArchiveListing(edited);
    expect(parsed.entries).toHaveLength(entryLines.length - 2);
    expect(parsed.tableData).toBe(3);
    expect(parsed.tableDefinitions).toBe(4);
  });

  it('finds nothing in output without entries', () => {
    expect(parseArchiveListing('')).toEqual({ entries: [], tableDefinitions: 0, tableData: 0, owners: new Set() });
    expect(parseArchiveListing(LISTING.split('\n').filter((l) => l.startsWith(';')).join('\n')).entries).toEqual([]);
  });
});

describe('listingHasTable', () => {
  const listing = parseArchiveListing(LISTING);

  it('finds tables by their definition, with names holding spaces or quotes as pg_restore prints them', () => {
    expect(listingHasTable(listing, { schema: 'public', name: 'customers' })).toBe(true);
    expect(listingHasTable(listing, { schema: 'public', name: 'orders' })).toBe(true);
    expect(listingHasTable(listing, { schema: 'public', name: 'orders_2026' })).toBe(true);
    expect(listingHasTable(listing, { schema: 'Sales Dept', name: 'order lines' })).toBe(true);
    expect(listingHasTable(listing, { schema: 'public', name: 'say "hi"' })).toBe(true);
  });

  // The listing does not quote names, so a name is only told apart from a longer one by the space
  // after it: a table `say` would be found in a listing that holds only `say "hi"` (not asserted).
  it('does not take views, sequences, indexes, other schemas or name prefixes for a table', () => {
    expect(listingHasTable(listing, { schema: 'public', name: 'paid_orders' })).toBe(false);
    expect(listingHasTable(listing, { schema: 'public', name: 'customers_id_seq' })).toBe(false);
    expect(listingHasTable(listing, { schema: 'public', name: 'customers_email' })).toBe(false);
    expect(listingHasTable(listing, { schema: 'sales dept', name: 'order lines' })).toBe(false);
    expect(listingHasTable(listing, { schema: 'public', name: 'order' })).toBe(false);
  });

  it('needs the definition: a table whose TABLE entry is not selected is not there, even with its data', () => {
    const dataOnly = parseArchiveListing(LISTING.split('\n').filter((l) => !/ TABLE public customers /.test(l)).join('\n'));
    expect(dataOnly.entries.some((e) => e.text === 'TABLE DATA public customers app_owner')).toBe(true);
    expect(listingHasTable(dataOnly, { schema: 'public', name: 'customers' })).toBe(false);
  });
});
