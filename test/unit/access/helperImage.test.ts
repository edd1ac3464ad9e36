import * as assert from 'node:assert/strict';
import { DEFAULT_HELPER_IDLE_S, HelperDeclinedError, HelperUnavailableError } from '../../../src/core/access/helper';
import { helperContainerConfig } from '../../../src/core/runtime/docker/runtime';
import { OFFICIAL_HELPER_IMAGES, officialHelperFamily, pickOfficialHelperImage } from '../../../src/core/access/helperImage';
import { helperBinds } from '../../../src/core/access/paths';

const id = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;

describe('access/helperImage', () => {
  describe('officialHelperFamily', () => {
    it('takes the four official names exactly, with any tag, with or without docker.io/library/', () => {
      for (const f of OFFICIAL_HELPER_IMAGES) {
        assert.equal(officialHelperFamily(f), f);
        assert.equal(officialHelperFamily(`${f}:latest`), f);
        assert.equal(officialHelperFamily(`${f}:1.36.1-musl`), f);
        assert.equal(officialHelperFamily(`docker.io/library/${f}:xray-helperimg`), f);
        assert.equal(officialHelperFamily(`docker.io/library/${f}`), f);
      }
    });

    it('refuses every look-alike: other names with the word, other namespaces and registries, odd tags', () => {
      for (const ref of [
        'sec-busybox',
        'sec-busybox:latest',
        'xray-helperimg-sec-busybox:1',
        'busybox-evil',
        'busybox_evil:1',
        'busybox.evil:1',
        'my.busybox',
        'busyboxx:1',
        'Busybox:latest',
        'BUSYBOX',
        'localhost/busybox',
        'localhost/busybox:latest',
        'localhost:5000/busybox:latest',
        'library/busybox:latest',
        'someone/busybox:latest',
        'docker.io/someone/busybox:latest',
        'docker.io/library/busybox-evil:1',
        'index.docker.io/library/busybox:latest',
        'registry.example.com/busybox:1',
        'registry.example.com/library/alpine:3',
        'quay.io/library/ubuntu:24.04',
        'busybox@sha256:' + 'a'.repeat(64),
        'busybox:',
        'busybox:-x',
        'busybox:.x',
        'busybox:a b',
        `busybox:${'x'.repeat(129)}`,
        ' busybox',
        'busybox ',
        '',
        '<none>:<none>',
        'node:20',
      ])
        assert.equal(officialHelperFamily(ref), null, ref);
    });
  });

  describe('pickOfficialHelperImage', () => {
    it('picks one official image: busybox before alpine, debian and ubuntu, then the smallest, then by name', () => {
      const images = [
        { Id: id(1), RepoTags: ['sec-busybox:latest'], Size: 1 },
        { Id: id(2), RepoTags: ['ubuntu:24.04'], Size: 80 },
        { Id: id(3), RepoTags: ['someone/busybox:latest', 'localhost/busybox:latest'], Size: 1 },
        { Id: id(4), RepoTags: ['alpine:3.20'], Size: 8 },
        { Id: id(5), RepoTags: ['busybox:1.36', 'busybox:latest'], Size: 4 },
        { Id: id(6), RepoTags: ['busybox:musl'], Size: 3 },
        { Id: id(7), RepoTags: ['<none>:<none>'], Size: 1 },
      ];
      assert.deepEqual(pickOfficialHelperImage(images), { image: 'busybox:musl', imageId: id(6), source: 'official' });
      assert.deepEqual(pickOfficialHelperImage(images.filter((i) => i.Id !== id(6))), {
        image: 'busybox:1.36',
        imageId: id(5),
        source: 'official',
      });
      assert.deepEqual(pickOfficialHelperImage([images[1], images[3]]), { image: 'alpine:3.20', imageId: id(4), source: 'official' });
    });

    it('picks nothing when only look-alikes are local (the case that picked sec-busybox before)', () => {
      const lookalikes = [
        { Id: id(1), RepoTags: ['sec-busybox:latest'], Size: 1 },
        { Id: id(2), RepoTags: ['xray-helperimg-sec-busybox:1', 'busybox-evil:1', 'localhost/busybox:1'], Size: 1 },
        { Id: id(3), RepoTags: ['xray-test-busybox:1'], Size: 1 },
        { Id: id(4), RepoTags: null as unknown as string[], Size: 1 },
      ];
      assert.equal(pickOfficialHelperImage(lookalikes), null);
      assert.equal(pickOfficialHelperImage([]), null);
    });
  });

  describe('the helper container', () => {
    const spec = {
      image: 'busybox:latest',
      imageId: id(9),
      binds: helperBinds('/var/lib/docker'),
      securityOptions: [],
      serverVersion: '20.10.24',
      dockerRootDir: '/var/lib/docker',
    };

    it('is created from the chosen image ID, so a retag after the choice cannot change what runs', () => {
      assert.equal(helperContainerConfig(spec, spec.binds, 'n').Image, id(9));
      assert.equal(helperContainerConfig({ ...spec, imageId: undefined }, spec.binds, 'n').Image, 'busybox:latest');
    });

    it('gets its idle timeout in XRAY_IDLE_S and a stdin the daemon closes when the owner goes', () => {
      const config = helperContainerConfig({ ...spec, idleTimeoutS: 75 }, spec.binds, 'n');
      assert.deepEqual(config.Env, ['LC_ALL=C', 'XRAY_IDLE_S=75']);
      assert.equal(config.OpenStdin, true);
      assert.equal(config.StdinOnce, true);
      assert.equal(config.AttachStdin, true);
      assert.deepEqual(helperContainerConfig(spec, spec.binds, 'n').Env, ['LC_ALL=C', `XRAY_IDLE_S=${DEFAULT_HELPER_IDLE_S}`]);
      assert.deepEqual(helperContainerConfig({ ...spec, idleTimeoutS: 0.2 }, spec.binds, 'n').Env, ['LC_ALL=C', 'XRAY_IDLE_S=1']);
    });

    it('names the image and its ID when it is declined, as a HelperUnavailableError', () => {
      const err = new HelperDeclinedError({ image: 'busybox:latest', imageId: id(9) });
      assert.ok(err instanceof HelperUnavailableError);
      assert.equal(err.image, 'busybox:latest');
      assert.match(err.message, new RegExp(`busybox:latest, ID ${id(9)}.*declined`));
    });
  });
});
