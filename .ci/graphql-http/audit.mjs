// Runs the graphql-http package's server audits (GraphQL over HTTP conformance) against a live
// graph-service and exits non-zero on any failed MUST or SHOULD audit; MAY audits are reported only.
//
//   node .ci/graphql-http/audit.mjs http://127.0.0.1:8000/graphql
import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs URL');
  process.exit(2);
}
const results = await auditServer({ url });
const levels = { error: 'MUST', warn: 'SHOULD', notice: 'MAY' };
const failed = { MUST: 0, SHOULD: 0, MAY: 0 };
for (const result of results) {
  if (result.status === 'ok') continue;
  const level = levels[result.status];
  failed[level] += 1;
  console.log(`  ${level} failed: ${result.id} ${result.name}: ${result.reason}`);
}
console.log(
  `graphql-http audit of ${url}: ${results.length} audits, ` +
    `${failed.MUST} MUST and ${failed.SHOULD} SHOULD failures (${failed.MAY} MAY not supported)`,
);
process.exit(failed.MUST + failed.SHOULD > 0 ? 1 : 0);
