/**
 * Every container image the repo pulls carries an explicit version tag (`latest`, a bare name or a
 * major-only tag moves under you: `warp10io/warp10:latest` is still 2.11.1). Greps the repo's own files:
 * Dockerfile `FROM`, YAML `image:`, and in TypeScript `image:` properties, `*IMAGE` constants,
 * `GenericContainer(...)` arguments, and any string naming one of the image repositories found.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { packageRoot } from '../../../src/core/package-file.js';

const ROOT = packageRoot();
const SKIP_DIRS = new Set(['node_modules', 'dist', '.git', '.vitest-tmp', 'out']);
/** Its examples of bad references are not references. */
const THIS_FILE = import.meta.filename;

interface ImageRef {
  readonly file: string;
  readonly line: number;
  readonly ref: string;
}

function repoFiles(dir = ROOT): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) found.push(...repoFiles(join(dir, entry.name)));
    } else if (/^Dockerfile|\.(ya?ml|ts|mjs)$/.test(entry.name) && join(dir, entry.name) !== THIS_FILE) {
      found.push(join(dir, entry.name));
    }
  }
  return found;
}

/** An image reference in code: a registry path with a `/` or a `:tag` (fake data like `image: 'x'` is not one). */
const LOOKS_LIKE_IMAGE = /^[a-z0-9][a-z0-9._-]*(?::\d+)?(?:\/[a-z0-9][a-z0-9._-]*)*(?::[\w][\w.-]*)?$/;

/** The image references a file's text makes, by the rules in the header. */
function imageReferences(file: string, text: string): ImageRef[] {
  const refs: ImageRef[] = [];
  const name = file.split('/').pop() ?? '';
  const stages = new Set<string>();
  text.split('\n').forEach((line, i) => {
    const add = (ref: string): void => void refs.push({ file: relative(ROOT, file), line: i + 1, ref });
    if (name.startsWith('Dockerfile')) {
      const m = /^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
      if (m?.[1] && !stages.has(m[1]) && m[1] !== 'scratch') add(m[1]);
      if (m?.[2]) stages.add(m[2]);
    } else if (/\.ya?ml$/.test(name)) {
      const m = /^\s*-?\s*image:\s*["']?([^"'\s#]+)/.exec(line);
      if (m?.[1]) add(kustomizedImages(dirname(file)).get(m[1]) ?? m[1]);
    } else {
      for (const m of line.matchAll(/(?:\bimage:\s*|IMAGE\s*=\s*(?:[^;]*?\?\?\s*)?|GenericContainer\(\s*)['"`]([^'"`]+)['"`]/g)) {
        if (m[1] && LOOKS_LIKE_IMAGE.test(m[1]) && (m[1].includes('/') || m[1].includes(':'))) add(m[1]);
      }
    }
  });
  return refs;
}

/**
 * kustomize `images:` of the directory's kustomization.yaml (name -> newName:newTag): a manifest may name
 * an image without a tag when its kustomization sets the tag (the one place deploy/kubernetes names it).
 */
function kustomizedImages(dir: string): Map<string, string> {
  const file = join(dir, 'kustomization.yaml');
  const out = new Map<string, string>();
  if (!existsSync(file)) return out;
  const doc = parseYaml(readFileSync(file, 'utf8')) as { images?: Array<{ name?: string; newName?: string; newTag?: string }> } | null;
  for (const image of doc?.images ?? []) {
    if (image.name && image.newTag) out.set(image.name, `${image.newName ?? image.name}:${image.newTag}`);
  }
  return out;
}

/** `repo:tag` with a tag that names a version (at least major.minor), not `latest` or a bare major. */
function hasVersionTag(ref: string): boolean {
  const tag = /:([^:/]+)$/.exec(ref)?.[1];
  return tag !== undefined && /^v?\d+\.\d+/.test(tag);
}

function repositoryOf(ref: string): string {
  return ref.replace(/:[^:/]+$/, '');
}

const files = repoFiles();
const refs = files.flatMap((f) => imageReferences(f, readFileSync(f, 'utf8')));

describe('image references', () => {
  it('finds the images of the compose demo, the Dockerfile, the container suites and the binary fallbacks', () => {
    const repos = new Set(refs.map((r) => repositoryOf(r.ref)));
    for (const repo of ['node', 'warp10io/warp10', 'riemannio/riemann', 'prom/prometheus', 'prom/pushgateway', 'victoriametrics/victoria-metrics', 'grafana/grafana']) {
      expect(repos, repo).toContain(repo);
    }
    expect(refs.some((r) => r.file === 'Dockerfile')).toBe(true);
    expect(refs.some((r) => r.file.startsWith('docker-compose/'))).toBe(true);
    expect(refs.some((r) => r.file.startsWith('test/support/servers/'))).toBe(true);
  });

  it('every one carries an explicit version tag', () => {
    expect(refs.filter((r) => !hasVersionTag(r.ref)).map((r) => `${r.file}:${r.line} ${r.ref}`)).toEqual([]);
  });

  it('no string anywhere in the TypeScript names one of those repositories without a version', () => {
    const repos = [...new Set(refs.map((r) => repositoryOf(r.ref)))].filter((r) => r.includes('/'));
    const pattern = new RegExp(`(?<![\\w./-])(${repos.map((r) => r.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|')})(:[\\w.-]+)?(?![\\w/-])`, 'g');
    const loose: string[] = [];
    for (const file of files.filter((f) => /\.(ts|mjs)$/.test(f))) {
      readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
        for (const literal of line.matchAll(/'[^']*'|"[^"]*"|`[^`]*`/g)) {
          for (const m of literal[0].matchAll(pattern)) if (!hasVersionTag(m[0])) loose.push(`${relative(ROOT, file)}:${i + 1} ${m[0]}`);
        }
      });
    }
    expect(loose).toEqual([]);
  });

  it('tells a version tag from a floating one', () => {
    expect(['warp10io/warp10:3.5.0-ubuntu-ci', 'prom/prometheus:v2.53.0', 'node:20.20.2-bookworm-slim', 'localhost:5000/x/y:1.2'].map(hasVersionTag)).toEqual([true, true, true, true]);
    expect(['warp10io/warp10:latest', 'riemannio/riemann', 'node:20-bookworm-slim', 'localhost:5000/x/y'].map(hasVersionTag)).toEqual([false, false, false, false]);
  });

  it('reads FROM (not build stages), YAML image: and the TypeScript forms', () => {
    expect(imageReferences(join(ROOT, 'Dockerfile'), 'FROM node:20 AS build\nFROM --platform=linux/amd64 build\nFROM scratch\n').map((r) => r.ref)).toEqual(['node:20']);
    expect(imageReferences(join(ROOT, 'x.yaml'), '  riemann:\n    image: "riemannio/riemann"  # c\n').map((r) => r.ref)).toEqual(['riemannio/riemann']);
    const ts = "const A_IMAGE = process.env['X'] ?? 'a/b:1';\nnew GenericContainer('c/d').start();\nconst x = { image: 'e/f:latest' };\nconst y = { image: 'x' };\n";
    expect(imageReferences(join(ROOT, 'x.ts'), ts).map((r) => r.ref)).toEqual(['a/b:1', 'c/d', 'e/f:latest']);
  });
});
