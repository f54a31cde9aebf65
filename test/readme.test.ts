/**
 * The README and docs/ are the user's manual: the option table in docs/operations.md must match the
 * option table in the code, the README must give the test command CI runs, and every page must be
 * reachable from the README with no link pointing nowhere.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { defaultText, type OptionSpec } from '../src/config/option-spec.js';
import { SERVE_OPTIONS } from '../src/config/serve-options.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const readme = read('README.md');
const docPages = readdirSync(join(root, 'docs'))
  .filter((f) => f.endsWith('.md'))
  .map((f) => `docs/${f}`);

describe('options table (docs/operations.md)', () => {
  const operations = read('docs/operations.md');
  const start = operations.indexOf('<!-- options:start');
  const end = operations.indexOf('<!-- options:end');
  const rows = operations
    .slice(start, end)
    .split('\n')
    .filter((l) => l.startsWith('| `--'));

  it('is there, between its markers', () => {
    expect(start).toBeGreaterThan(-1);
    expect(end).toBeGreaterThan(start);
    expect(rows.length).toBeGreaterThan(0);
  });

  it.each((SERVE_OPTIONS as readonly OptionSpec[]).map((s) => [s.name, s] as const))('documents --%s with its default', (name, spec) => {
    const row = rows.find((r) => r.startsWith(`| \`--${name} `) || r.startsWith(`| \`--${name}\``) || r.startsWith(`| \`--[no-]${name}\``));
    expect(row, `no docs/operations.md row for --${name}`).toBeDefined();
    expect(row!.split('|')[2]!.trim()).toBe(defaultText(spec) === 'none' ? 'none' : `\`${defaultText(spec)}\``);
  });

  it('has no row for an option that does not exist', () => {
    const names = new Set((SERVE_OPTIONS as readonly OptionSpec[]).map((s) => s.name));
    for (const row of rows) expect(names.has(/`--(?:\[no-\])?([a-z-]+)/.exec(row)![1]!), row).toBe(true);
  });
});

describe('README', () => {
  it('gives the test command that .ci/run runs', () => {
    const ci = read('.ci/run');
    expect(readme).toMatch(/^npm test\s/m);
    expect(ci).toMatch(/^npm test$/m);
  });

  it.each(docPages)('links %s', (page) => {
    expect(linksOf(readme).map((l) => l.path)).toContain(page);
  });
});

describe('links in README.md and docs/*.md', () => {
  const pages = ['README.md', ...docPages];

  it.each(pages)('%s: every relative link names an existing file, and an existing heading', (page) => {
    const links = linksOf(read(page)).map((l) => ({ ...l, path: l.path === '' ? page : relative(root, join(root, dirname(page), l.path)) }));
    expect(links.length).toBeGreaterThan(0);
    for (const { text, path, anchor } of links) {
      expect(existsSync(join(root, path)), `${page}: [${text}] → ${path} does not exist`).toBe(true);
      if (anchor === undefined) continue;
      expect(path.endsWith('.md') && statSync(join(root, path)).isFile(), `${page}: [${text}] → ${path}#${anchor}: an anchor into a file that is not Markdown`).toBe(true);
      expect(anchorsOf(read(path)), `${page}: [${text}] → ${path}#${anchor}`).toContain(anchor);
    }
  });
});

describe('repository paths named in README.md and docs/*.md', () => {
  it.each(['README.md', ...docPages])('%s: every path in a code span exists', (page) => {
    // `src/chain/chaos.ts`, `test/abuse.test.ts`, `k8s/base`: files move; the manual must follow.
    const paths = [...withoutCodeBlocks(read(page)).matchAll(/`((?:src|test|native|bench|k8s|examples|zones|scripts|docs)\/[^`\s*]*)`/g)].map((m) => m[1]!);
    for (const path of paths) expect(existsSync(join(root, path)), `${page}: \`${path}\` does not exist`).toBe(true);
  });
});

describe('the link and anchor readers', () => {
  it('take inline links and images outside code, resolve same-page anchors, and skip URLs', () => {
    const md = ['[a](docs/x.md#Sec), ![img](b.svg) [web](https://example.org/y) [here](#top)', '```sh', '[no](c.md)', '```', '`[no](d.md)`'].join('\n');
    expect(linksOf(md)).toEqual([
      { text: 'a', path: 'docs/x.md', anchor: 'Sec' },
      { text: 'img', path: 'b.svg', anchor: undefined },
      { text: 'here', path: '', anchor: 'top' },
    ]);
  });

  it('slug headings as GitHub does, numbering repeats and ignoring code blocks', () => {
    const md = ['# Service registry SDK and `etcdns register`', '## In TypeScript (`etcdns/registry`)', '## Notes', '## Notes', '```sh', '# not a heading', '```'].join('\n');
    expect(anchorsOf(md)).toEqual(['service-registry-sdk-and-etcdns-register', 'in-typescript-etcdnsregistry', 'notes', 'notes-1']);
  });
});

interface Link {
  readonly text: string;
  /** Relative to the page; '' for an anchor into the page itself. */
  readonly path: string;
  readonly anchor: string | undefined;
}

/** Fenced code blocks hold no links and no headings. */
const withoutCodeBlocks = (markdown: string) => markdown.replace(/^```[\s\S]*?^```/gm, '');

/** The relative inline links (and images) of a page, outside code; URLs with a scheme are not checked here. */
function linksOf(markdown: string): Link[] {
  const links: Link[] = [];
  // A code span is matched as a whole, so brackets inside it are not a link; link text may hold code.
  for (const m of withoutCodeBlocks(markdown).matchAll(/`[^`\n]*`|!?\[((?:[^\]`]|`[^`]*`)*)\]\(([^)\s]+)\)/g)) {
    const [, label, href] = m;
    if (label === undefined || href === undefined || /^[a-z][a-z+.-]*:/i.test(href)) continue;
    const hash = href.indexOf('#');
    links.push({ text: label, path: hash < 0 ? href : href.slice(0, hash), anchor: hash < 0 ? undefined : href.slice(hash + 1) });
  }
  return links;
}

/** The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces to '-', repeats numbered. */
function anchorsOf(markdown: string): string[] {
  const seen = new Map<string, number>();
  const anchors: string[] = [];
  for (const m of withoutCodeBlocks(markdown).matchAll(/^#{1,6} +(.+?) *#* *$/gm)) {
    const slug = m[1]!
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.push(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}
