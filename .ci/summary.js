// Sums jest's JSON reports into the one line CI reads: "N passed, N failed".
// A suite that crashed before its tests ran counts as a failure, and so does a
// failed make step that left no failing test behind (lint, verify, a missing
// report), so a broken run never reads green.
import { existsSync, readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const reports = args.filter((a) => !a.startsWith('--')).filter((f) => existsSync(f));
let passed = 0;
let failed = 0;
for (const file of reports) {
  const report = JSON.parse(readFileSync(file, 'utf8'));
  passed += report.numPassedTests;
  failed += report.numFailedTests + report.numRuntimeErrorTestSuites;
}
if (failed === 0 && (args.includes('--failed-step') || reports.length === 0)) failed = 1;
console.log(`${passed} passed, ${failed} failed`);
