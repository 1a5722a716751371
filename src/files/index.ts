// File sets: uploaded files (an S3 prefix or a folder) backed up with the database. Each backup
// records a file manifest (key, size, SHA-256, modified time; NDJSON sorted by key) and the sorted
// digests it refers to; contents are stored once by SHA-256 under `content/`, encrypted like the
// backup. Everything streams: memory stays flat with the number and size of files.
export { captureFileSet, type CaptureFileSetOptions, type PreviousFileSet } from './capture.ts';
export { IN_MEMORY_MAX_BYTES, putContent, readContent, verifyContent, type ContentStore } from './content.ts';
export { DIGEST_BYTES, DigestSorter, mergeDigests, readDigests, scratchFolder, type ScratchFolder } from './digests.ts';
export { entryLine, readEntries, type FileEntry } from './entries.ts';
export { fetchFileManifest, localEntries, manifestFormat, readObject, storeObject, type ObjectFormat } from './objects.ts';
export { compareReferences, type ReferenceComparison } from './references.ts';
export { fileSetS3Options, openFileLocation } from './source.ts';
export { sweepContents, type ContentSweep, type SweepContentsOptions } from './sweep.ts';
