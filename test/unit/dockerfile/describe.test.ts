import * as assert from 'node:assert/strict';
import {
  MAX_NAME_CHARS,
  codeLensTitle,
  describeInstructionLayer,
  describeNoImage,
  sanitizeName,
} from '../../../src/core/dockerfile/describe';
import { formatBytes } from '../../../src/shared/format';
import { escapeMarkdown } from '../../../src/shared/text';
import { matchDockerfileToHistory, matchAtLine, InstructionMatch } from '../../../src/core/dockerfile/match';
import { finalStage, parseDockerfile, DockerfileInstruction } from '../../../src/core/dockerfile/parse';
import type { ImageLayer, LayerChange, LayerReport } from '../../../src/shared/model';
import { readDockerfile, readHistory } from './fixtures';

/** markdown-it (installed with @vscode/vsce, a dev dependency) renders the text as a Markdown viewer would. */
interface MarkdownIt {
  render(src: string): string;
}
function markdownRenderer(): MarkdownIt {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ctor = require('markdown-it') as (opts: object) => MarkdownIt;
    return ctor({ html: false, linkify: true, typographer: false });
  } catch (err) {
    throw new Error(
      `markdown-it is needed to render hover text in this test; run npm ci (it comes with @vscode/vsce): ${(err as Error).message}`,
      { cause: err },
    );
  }
}

const HOSTILE = [
  '/app/[x](command:foo)',
  '/app/<script>alert(1)</script>',
  '/app/`rm -rf /`',
  '/app/evil\nname\r\twith\u0007controls',
  '/app/*bold* _em_ # heading',
  '/app/https://evil.example/x',
  '/app/www.evil.example',
  '/app/<https://autolink.example>',
  '/app/![img](http://x/y.png)',
  '/app/&lt;entity&gt; &amp;',
  '/app/| table | row |',
  '/app/\u202eoverride',
  '/app/$(codicon)',
];

function change(path: string, sizeBytes: number, kind: LayerChange['kind'] = 'added', type: LayerChange['type'] = 'file'): LayerChange {
  return { path, kind, type, sizeBytes };
}

function layer(changes: LayerChange[], extra: Partial<ImageLayer> = {}): ImageLayer {
  return {
    index: 4,
    diffId: 'sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
    chainId: 'sha256:c',
    createdBy: 'RUN /bin/sh -c x # buildkit',
    createdAt: null,
    comment: null,
    sizeBytes: changes.reduce((a, c) => a + c.sizeBytes, 0),
    metadataAbove: [],
    changes,
    wastedBytes: 0,
    source: 'tar-split',
    ...extra,
  };
}

function report(layers: ImageLayer[], tags: string[] = ['app:1']): LayerReport {
  return {
    image: { id: 'sha256:feedfacefeedface', tags, ref: tags[0] ?? 'x' },
    container: null,
    layers,
    metadataBelow: [],
    upper: null,
    efficiency: 1,
    wastedBytes: 0,
    userWastedPercent: 0,
    sizeBytes: 0,
    userSizeBytes: 0,
    inefficiencies: [],
    errors: [],
  };
}

function instr(text: string, line = 0): DockerfileInstruction {
  const ins = finalStage(parseDockerfile(`FROM x\n${'\n'.repeat(line)}${text}`))?.instructions[0];
  assert.ok(ins);
  return ins;
}

/** Every Markdown-special character is preceded by a backslash (an escaped backslash counts as a pair). */
function assertEscaped(text: string): void {
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') {
      assert.ok(i + 1 < text.length && /[!-/:-@[-`{-~]/.test(text[i + 1]), `dangling backslash at ${i} in ${JSON.stringify(text)}`);
      i++;
      continue;
    }
    assert.ok(!/[\\`*_{}[\]()#+\-.!|<>&:@~$]/.test(c), `unescaped ${JSON.stringify(c)} at ${i} in ${JSON.stringify(text)}`);
  }
}

describe('dockerfile/describe', () => {
  it('formatBytes uses binary units with one decimal', () => {
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(1023), '1023 B');
    assert.equal(formatBytes(1024), '1.0 KiB');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(65536), '64.0 KiB');
    assert.equal(formatBytes(1.2 * 1024 * 1024), '1.2 MiB');
    assert.equal(formatBytes(3 * 1024 ** 3), '3.0 GiB');
  });

  it('escapeMarkdown escapes every special character and sanitizeName removes control characters', () => {
    assert.equal(escapeMarkdown('[x](command:foo)'), '\\[x\\]\\(command\\:foo\\)');
    assert.equal(escapeMarkdown('<b>&'), '\\<b\\>\\&');
    assert.equal(escapeMarkdown('`a` \\ *b*'), '\\`a\\` \\\\ \\*b\\*');
    assert.equal(sanitizeName('a\nb\r\u0000c\td\u2028e\u202ef'), 'a\ufffdb\ufffd\ufffdc d\ufffde\ufffdf');
    const long = sanitizeName(`/${'x'.repeat(1000)}/end`);
    assert.equal(Array.from(long).length, MAX_NAME_CHARS);
    assert.ok(long.includes('…') && long.endsWith('/end'));
  });

  describe('describeInstructionLayer', () => {
    const run = instr('RUN apt-get install -y curl \\\n  && rm -rf /var/lib/apt/lists', 3);

    it('says what a layer holds: size, digest, counts, largest files, waste, opaque directories', () => {
      const changes = [
        change('/usr/bin/curl', 300_000),
        change('/usr/lib/libcurl.so', 700_000),
        change('/etc/ssl/certs/ca.pem', 200_000, 'modified'),
        change('/usr/share/doc/a', 10),
        change('/usr/share/doc/b', 20),
        change('/usr/share/doc/c', 30),
        change('/usr/share/doc', 0, 'added', 'dir'),
        change('/var/lib/apt/lists', 0, 'deleted', 'other'),
        { ...change('/var/cache/apt', 0, 'modified', 'dir'), opaque: true as const },
      ];
      const l = layer(changes, { wastedBytes: 2048 });
      const text = describeInstructionLayer(run, l, report([layer([]), layer([]), layer([]), layer([]), l]), null, { markdown: false });
      const lines = text.split('  \n');
      assert.equal(lines[0], 'RUN (lines 5–6): layer 5 of 5, 1.1 MiB, digest 0123456789ab.');
      assert.equal(lines[1], 'Files: 5 added, 1 modified, 1 deleted; 1 directory added.');
      assert.deepEqual(lines.slice(2, 8), [
        'Largest:',
        '• /usr/lib/libcurl.so (683.6 KiB, added)',
        '• /usr/bin/curl (293.0 KiB, added)',
        '• /etc/ssl/certs/ca.pem (195.3 KiB, modified)',
        '• /usr/share/doc/c (30 B, added)',
        '• /usr/share/doc/b (20 B, added)',
      ]);
      assert.equal(lines[8], 'Wasted: 2.0 KiB of this layer is overwritten or deleted by later layers.');
      assert.equal(lines[9], 'Opaque directories (hide lower contents): /var/cache/apt');
      assert.equal(lines.length, 10);
    });

    it('escapes the same text for Markdown by default', () => {
      const l = layer([change('/a.b', 1536)]);
      const text = describeInstructionLayer(run, l, report([l]));
      assert.match(text, /^RUN \\\(lines 5–6\\\)\\: layer 5 of 1, 1\\\.5 KiB, digest 0123456789ab\\\. {2}\n/);
      for (const line of text.split('  \n')) assertEscaped(line);
    });

    it('says a metadata line produced no layer', () => {
      const env = instr('ENV A=b');
      const text = describeInstructionLayer(env, null, report([]), null, { markdown: false });
      assert.equal(text, 'ENV (line 2): this instruction only sets image metadata; it produced no layer.');
    });

    it('says a layer-producing line with a Size-0 layer produced an empty layer', () => {
      const wd = instr('WORKDIR /app');
      const l = layer([change('/app', 0, 'added', 'dir')], { index: 1 });
      const text = describeInstructionLayer(wd, l, report([layer([]), l]), null, { markdown: false });
      assert.match(text, /^WORKDIR \(line 2\): produced an empty layer \(0 B\), layer 2 of 2, digest 0123456789ab\./);
      assert.match(text, /It only created 1 directory\./);
      const rm = instr('RUN rm /x');
      const whiteout = layer([change('/x', 0, 'deleted', 'other')]);
      assert.match(
        describeInstructionLayer(rm, whiteout, report([whiteout]), null, { markdown: false }),
        /Files: 0 added, 0 modified, 1 deleted/,
      );
    });

    it('tells apart no layer (nothing changed), no history entry and an unknown layer', () => {
      const fx = readHistory('kitchen-sink.legacy.json');
      const m = matchDockerfileToHistory(
        readDockerfile('kitchen-sink.Dockerfile'),
        fx.history.map((h, i) => ({ ...h, emptyLayer: fx.emptyLayer[i] })),
        fx.layerCount,
      );
      assert.ok(m);
      const noop = matchAtLine(m, 22); // RUN true
      assert.ok(noop);
      assert.match(
        describeInstructionLayer(noop.instruction, null, report([]), noop, { markdown: false }),
        /RUN \(line 23\): it changed no files, so the builder made no layer\.\s+Recorded as: \|2 A=1 B=two \/bin\/sh -c true/,
      );
      const workdir = matchAtLine(m, 11); // the second WORKDIR /app
      assert.ok(workdir);
      assert.match(
        describeInstructionLayer(workdir.instruction, null, report([]), workdir, { markdown: false }),
        /the directory already existed/,
      );
      const missing: InstructionMatch = { ...noop, historyIndex: null, createdBy: null, quality: null, makesLayer: null, layerIndex: null };
      assert.match(
        describeInstructionLayer(noop.instruction, null, report([], ['my-image:dev']), missing, { markdown: false }),
        /no history entry in image my-image:dev corresponds to this line; rebuild the image/,
      );
      assert.match(describeInstructionLayer(noop.instruction, null, report([]), undefined, { markdown: false }), /not known/);
    });

    it('never turns hostile file, image or command names into links, HTML or formatting', () => {
      const changes = HOSTILE.map((p, i) => change(p, 1000 - i));
      const opaque = HOSTILE.map((p) => ({ ...change(p, 0, 'modified', 'dir'), opaque: true as const }));
      const l = layer([...changes, ...opaque]);
      const evilCommand: InstructionMatch = {
        instruction: instr('ENV A=b'),
        historyIndex: 0,
        createdBy: 'ENV A=[click](command:workbench.action.terminal.new) <img src=x onerror=alert(1)>\n# heading',
        quality: 'exact',
        sizeBytes: 0,
        makesLayer: false,
        layerIndex: null,
        layerCertain: true,
        builder: 'buildkit',
      };
      const texts = [
        describeInstructionLayer(run, l, report([l], ['[tag](command:x)<b>'])),
        describeInstructionLayer(run, l, report([l]), null, { largest: 20 }),
        describeInstructionLayer(evilCommand.instruction, null, report([], ['<img src=x>']), evilCommand),
        describeInstructionLayer(run, null, report([], ['[tag](command:x)`<b>`']), {
          ...evilCommand,
          instruction: run,
          historyIndex: null,
        }),
        describeNoImage('/work/[x](command:foo)/<script>/Docker`file`\nnext line'),
      ];
      const md = markdownRenderer();
      for (const text of texts) {
        const lines = text.split('  \n');
        for (const line of lines) {
          assert.ok(!/[\r\n\u0000-\u001f\u202e]/.test(line), `control character in ${JSON.stringify(line)}`);
          assertEscaped(line);
        }
        const html = md.render(text);
        assert.ok(!/<a[\s>]/i.test(html), html);
        assert.ok(!/<(script|img|b|em|strong|code|h\d|table|ul|ol|li|blockquote)[\s>]/i.test(html), html);
        assert.ok(!html.includes('href'), html);
      }
      // Names still read: the visible text is the name, escaped, not mangled.
      assert.ok(texts[1].includes('/app/\\[x\\]\\(command\\:foo\\)'));
    });

    it('caps very long names', () => {
      const longName = `/app/${'a'.repeat(5000)}`;
      const l = layer([change(longName, 10)]);
      const text = describeInstructionLayer(run, l, report([l]), null, { markdown: false });
      assert.ok(text.length < 1000);
      assert.ok(text.includes('…'));
    });

    it('never throws on broken input', () => {
      const broken = { index: NaN, changes: [null, { kind: 'added' }], sizeBytes: 'x' } as unknown as ImageLayer;
      assert.equal(typeof describeInstructionLayer(run, broken, {} as LayerReport), 'string');
      assert.equal(
        typeof describeInstructionLayer(null as unknown as DockerfileInstruction, null, null as unknown as LayerReport),
        'string',
      );
      assert.equal(typeof codeLensTitle(broken), 'string');
    });
  });

  it('describeNoImage says how to build an image', () => {
    assert.equal(
      describeNoImage('/work/app/Dockerfile', { markdown: false }),
      [
        "No local image matches /work/app/Dockerfile: no image's newest history entries correspond to its final stage.",
        'Build one, then the layer of each line shows here:',
        'docker build -t NAME -f /work/app/Dockerfile /work/app',
      ].join('  \n'),
    );
    const spaced = describeNoImage('/work/my app/build/Dockerfile.dev', { markdown: false, context: '/work/my app', tag: 'myapp:dev' });
    assert.match(spaced, /docker build -t myapp:dev -f '\/work\/my app\/build\/Dockerfile\.dev' '\/work\/my app'$/);
    const md = describeNoImage('/work/app/Dockerfile');
    assert.match(md, /docker build \\-t NAME \\-f \/work\/app\/Dockerfile \/work\/app$/);
  });

  it('codeLensTitle is short and only numbers follow the codicon', () => {
    const l = layer([
      ...Array.from({ length: 120 }, (_, i) => change(`/f${i}`, 100_000)),
      change('/m1', 1000, 'modified'),
      change('/m2', 1000, 'modified'),
      change('/m3', 1000, 'modified'),
      change('/d1', 0, 'deleted'),
      change('/d2', 0, 'deleted'),
    ]);
    assert.equal(codeLensTitle(l), '$(layers) 11.4 MiB · +120 ~3 -2 files');
    assert.equal(codeLensTitle(layer([])), '$(layers) empty layer');
    assert.equal(codeLensTitle(layer([change('/app', 0, 'added', 'dir')])), '$(layers) empty layer · +1 dir');
    assert.equal(codeLensTitle(layer([change('/$(evil)[x](command:y)', 5)])), '$(layers) 5 B · +1 ~0 -0 files');
    assert.equal(codeLensTitle(null), '$(layers) no layer');
  });
});
