// A connector plugin as a backend author writes one against the package: a byte store over a
// directory, in plain JavaScript, loaded with `hangar serve --data dirstore:///path --plugin THIS`.
// (test_plugin_store.py serves pyarrow and shoots from it.)
import { randomUUID } from 'node:crypto';
import { link, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Connector } from 'hangar';

class DirectoryStore extends Connector {
  name = 'dirstore';

  constructor(root) {
    super();
    this.root = root;
  }

  async open() {
    await mkdir(join(this.root, '.staging'), { recursive: true });
  }

  async get(key) {
    try {
      return new Uint8Array(await readFile(join(this.root, key)));
    } catch (error) {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    }
  }

  // Written aside, then renamed (replace) or hard-linked (ifAbsent: link fails if the key exists).
  async put(key, data, options = {}) {
    const path = join(this.root, key);
    const staged = join(this.root, '.staging', randomUUID());
    await mkdir(dirname(path), { recursive: true });
    await writeFile(staged, data);
    if (!options.ifAbsent) {
      await rename(staged, path);
      return true;
    }
    try {
      await link(staged, path);
      return true;
    } catch (error) {
      if (error.code === 'EEXIST') return false;
      throw error;
    } finally {
      await rm(staged, { force: true });
    }
  }

  async delete(keys) {
    await Promise.all(keys.map((key) => rm(join(this.root, key), { force: true })));
  }

  async *list(prefix) {
    for (const entry of await readdir(this.root, { recursive: true, withFileTypes: true })) {
      const path = join(entry.parentPath, entry.name);
      const key = path.slice(this.root.length + 1);
      if (!entry.isFile() || key.startsWith('.staging/') || !key.startsWith(prefix)) continue;
      const info = await stat(path).catch(() => undefined);
      if (info) yield { key, size: info.size, modifiedAt: info.mtime };
    }
  }
}

export default { scheme: 'dirstore', create: (url) => new DirectoryStore(url.pathname) };
