// The monthly restore drill: registers every check in checks/ as a test against the restored
// backup. Add a check by adding a file to checks/ or a test to any *.drill.ts file.
import { registerChecks } from '../src/drill/test.ts';

registerChecks(import.meta.glob('../checks/*.ts', { eager: true }));
