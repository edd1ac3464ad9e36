// A walk's cost is bounded: past its entry bound it fails with EFBIG (the caller reports it on that field)
// instead of holding every name, and one huge directory is read in batches with yields between them.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MAX_WALK_ENTRIES, walkTreeConfined } from '../../../src/core/confined/walk';

describe('confined walk bounds', () => {
  let dir = '';
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xray-walkbound-'));
    fs.mkdirSync(path.join(dir, 'big'));
    for (let i = 0; i < 20000; i++) fs.writeFileSync(path.join(dir, 'big', `f${i}`), '');
    fs.mkdirSync(path.join(dir, 'small'));
    fs.writeFileSync(path.join(dir, 'small', 'x'), 'xx');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('lists everything within the bound', async () => {
    const entries = await walkTreeConfined(dir, { maxEntries: 20003 });
    assert.equal(entries.length, 20003);
    assert.equal(entries.find((e) => e.name === 'small/x')?.size, 2);
    assert.ok(MAX_WALK_ENTRIES >= 1_000_000, 'the default bound leaves room for real images');
  });

  it('fails with EFBIG, naming the root, one entry past the bound', async () => {
    await assert.rejects(walkTreeConfined(dir, { maxEntries: 20002 }), (err: Error & { code?: string; file?: string }) => {
      assert.equal(err.code, 'EFBIG');
      assert.equal(err.file, dir);
      assert.match(err.message, /holds more than 20002 entries: not listed/);
      return true;
    });
  });

  it('keeps the event loop turning while it reads one directory of 20 000 names', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    try {
      await walkTreeConfined(path.join(dir, 'big'));
    } finally {
      clearInterval(timer);
    }
    assert.ok(ticks >= 1, `timers ran during the walk (${ticks})`);
  });
});
