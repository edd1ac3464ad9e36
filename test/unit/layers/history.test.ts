import * as assert from 'node:assert/strict';
import { assignHistory, historyFromApi } from '../../../src/core/layers/history';
import { readHistory } from '../dockerfile/fixtures';

describe('layer history', () => {
  for (const name of ['kitchen-sink.legacy.json', 'kitchen-sink.buildkit.json', 'multistage.legacy.json', 'multistage.buildkit.json']) {
    it(`pairs each layer with the entry that made it from the API history alone (${name})`, () => {
      const fx = readHistory(name);
      const items = historyFromApi(fx.history, fx.layerCount);
      // The image config's empty_layer flags (newest first in the fixture) are the ground truth.
      assert.deepEqual(
        items.map((i) => i.emptyLayer),
        [...fx.emptyLayer].reverse(),
      );
      const { perLayer } = assignHistory(items, fx.layerCount);
      assert.equal(perLayer.length, fx.layerCount);
      const makers = [...fx.history].reverse().filter((_, i) => ![...fx.emptyLayer].reverse()[i]);
      assert.deepEqual(
        perLayer.map((l) => l.createdBy),
        makers.map((h) => h.CreatedBy),
      );
    });
  }
});
