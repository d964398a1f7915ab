// docs/custom-connectors.md shows the Redis connector inline; the tested file is the same code.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');

it("docs/custom-connectors.md's Redis connector is docs/examples/redis-connector.ts, character for character", async () => {
  const doc = await readFile(join(ROOT, 'docs/custom-connectors.md'), 'utf8');
  const file = await readFile(join(ROOT, 'docs/examples/redis-connector.ts'), 'utf8');
  const blocks = [...doc.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((match) => match[1]);
  const shown = blocks.find((block) => block?.includes('class RedisConnector extends Connector'));
  expect(shown, 'no ```ts block in docs/custom-connectors.md defines RedisConnector').toBeDefined();
  expect(shown).toBe(file);
});
