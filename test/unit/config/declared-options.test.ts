/**
 * Options declared once drive the command line and the config file alike: every option of every exporter,
 * of the program and of `scaph run` comes from a declaration (commander options built from it, values read
 * back by key), and what a file does with a key (a file to check, a path to resolve, a secret, the step) is
 * its declared role, never its name.
 */
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../../src/cli.js';
import {
  addDeclaredOptions,
  declaredValues,
  DeclaredOption,
  LettersOption,
  lettersOption,
  switchOption,
  textOption,
  valueOption,
  withRole,
} from '../../../src/config/declared-options.js';
import { exporterArgs, inlineSecretKeys, missingInputFiles, specCommand, validKeys } from '../../../src/config/exporter-options.js';
import { SENSOR_KEYS } from '../../../src/config/run-config.js';
import { SENSOR_OPTIONS, SENSOR_TABLE } from '../../../src/config/sensor-options.js';
import type { ExporterSettings, LocalExporterCommand } from '../../../src/exporters/command.js';
import { EXPORTER_COMMANDS } from '../../../src/exporters/index.js';
import { AliasOption, positiveSeconds } from '../../../src/exporters/parse.js';

describe('every option is declared', () => {
  it('each subcommand, the program and run: commander options built from declarations (aliases and letters of declared ones)', () => {
    const program = buildProgram(async () => undefined);
    const commands = [program, ...program.commands];
    expect(commands.map((c) => c.name())).toEqual(['scaph', ...EXPORTER_COMMANDS.map((s) => s.name), 'run']);
    for (const cmd of commands) {
      for (const o of cmd.options) {
        if (o.long === '--version') continue;
        const declared = o instanceof DeclaredOption || (o instanceof AliasOption && o.target instanceof DeclaredOption) || o instanceof LettersOption;
        expect(declared, `${cmd.name()} ${o.flags}`).toBe(true);
      }
    }
  });

  it('each exporter has one step option; its run duration and step fraction, if any, once', () => {
    for (const spec of EXPORTER_COMMANDS) {
      const roles = Object.values(spec.options).flatMap((d) => (d.kind === 'value' && d.role !== undefined ? [d.role] : []));
      expect(roles.filter((r) => r === 'step'), spec.name).toHaveLength(1);
      expect(roles.filter((r) => r === 'run-duration').length, spec.name).toBeLessThanOrEqual(1);
      expect(roles.filter((r) => r === 'step-fraction').length, spec.name).toBeLessThanOrEqual(1);
    }
    expect(EXPORTER_COMMANDS.filter((s) => withRole(s.options, 'run-duration') !== null).map((s) => s.name)).toEqual(['stdout', 'json']);
    expect(withRole(EXPORTER_COMMANDS.find((s) => s.name === 'riemann')?.options ?? {}, 'step')?.key).toBe('dispatchInterval');
  });

  it('the keys a file takes are the declared options (the run duration left out), and `step`', () => {
    for (const spec of EXPORTER_COMMANDS) {
      const expected = new Set(['step']);
      for (const decl of Object.values(spec.options)) {
        if (decl.kind === 'letters' || decl.role === 'run-duration') continue;
        const long = /--(?:no-)?([\w-]+)/.exec(decl.flags)?.[1] ?? '';
        expected.add(long.replace(/-/g, '_'));
      }
      expect(validKeys(spec, specCommand(spec)), spec.name).toEqual([...expected].sort());
    }
  });

  it('every global sensor option but the output-only ones has a [sensor] key, and every [sensor] key is declared', () => {
    const declared = new Set(Object.values(SENSOR_OPTIONS));
    expect(Object.values(SENSOR_TABLE).filter((d) => d.kind !== 'file-key').every((d) => declared.has(d as never))).toBe(true);
    expect(new Set(Object.values(SENSOR_TABLE))).toEqual(new Set([...declared, SENSOR_TABLE['step']]));
    expect(SENSOR_KEYS).toEqual(Object.keys(SENSOR_TABLE));
  });
});

/** A subcommand whose option names say nothing of their roles: only the declaration does. */
const OPTIONS = {
  every: valueOption('--every <seconds>', 'step', positiveSeconds('--every'), { unit: 'seconds', role: 'step', default: 1 }),
  token: textOption('--token <t>', 'not a secret, whatever its name'),
  credential: textOption('--credential <c>', 'a secret', { role: 'secret' }),
  passwordFile: textOption('--password-file <p>', 'not read at start, whatever its name'),
  trust: textOption('--trust <p>', 'read at start', { role: 'input-file' }),
  out: textOption('--out <p>', 'written', { role: 'path' }),
  quiet: switchOption('--quiet', 'a switch'),
  loud: switchOption('--no-loud', 'a negated switch'),
};

const probe: LocalExporterCommand<ExporterSettings & { readonly v: Readonly<Record<string, unknown>> }, typeof OPTIONS> = {
  name: 'probe',
  summary: 'test',
  push: false,
  options: OPTIONS,
  helpText: '',
  settings: (v) => ({ stepMs: v.every * 1000, durationMs: null, qemu: false, containers: false, v }),
  create: async () => ({ kind: 'local', exporter: { name: 'probe', start: async () => undefined, export: () => undefined, stop: async () => undefined } }),
};

describe('roles come from the declaration, not the key', () => {
  it('input files are checked, other *_file keys are not; a secret is what is declared secret', () => {
    const args = exporterArgs(probe, { trust: '/nonexistent/ca.pem', password_file: '/nonexistent/p', out: '/nonexistent/out' });
    expect(args.issues).toEqual([]);
    expect(missingInputFiles(probe, args.opts)).toEqual([{ key: 'trust', message: 'file "/nonexistent/ca.pem" does not exist' }]);
    expect(inlineSecretKeys(probe, { token: 'abc', credential: 'xyz', password_file: 'p' })).toEqual(['credential']);
    // From the environment it is not written in the file.
    expect(inlineSecretKeys(probe, { credential: '${CRED}' })).toEqual([]);
  });

  it('typed values by key: switches are true or false, a negated one true unless given, the step from its role', () => {
    const args = exporterArgs(probe, { every: 3, loud: false });
    expect(args.issues).toEqual([]);
    const v = (args.settings as unknown as { v: Record<string, unknown> }).v;
    expect(v).toMatchObject({ every: 3, quiet: false, loud: false });
    expect(args.settings?.stepMs).toBe(3000);
    const cmd = addDeclaredOptions(new Command('probe').exitOverride(), OPTIONS);
    cmd.parse(['--quiet'], { from: 'user' });
    expect(declaredValues(OPTIONS, cmd.opts())).toMatchObject({ every: 1, quiet: true, loud: true, token: undefined });
  });

  it('remote-write: an Authorization header written in the file is a secret; X-Scope-OrgID is not', () => {
    const rw = EXPORTER_COMMANDS.find((s) => s.name === 'remote-write');
    if (!rw) throw new Error('no remote-write');
    expect(inlineSecretKeys(rw, { url: 'http://x', header: { Authorization: 'Bearer t', 'X-Scope-OrgID': 'tenant', 'X-Api-Key': '${KEY}' } })).toEqual(['header.Authorization']);
  });
});

describe('letters told apart by value', () => {
  const TABLE = {
    scheme: textOption('--scheme <s>', 'scheme', { default: 'http' }),
    step: valueOption('--step <n>', 'step', Number, { unit: 'seconds', default: 30 }),
    letters: lettersOption(['-s <x>', '-S <x>'], 'scheme or step', ['scheme', 'step'], (value) => (/^\d+$/.test(value) ? { key: 'step', value: Number(value) } : { key: 'scheme', value })),
  };
  const parse = (argv: string[]) => {
    const cmd = addDeclaredOptions(new Command('t').exitOverride().configureOutput({ writeErr: () => undefined }), TABLE);
    cmd.parse(argv, { from: 'user' });
    return declaredValues(TABLE, cmd.opts());
  };

  it('either letter sets either option', () => {
    expect(parse(['-S', 'https', '-s', '10'])).toEqual({ scheme: 'https', step: 10 });
    expect(parse(['-s', 'https', '-S', '10'])).toEqual({ scheme: 'https', step: 10 });
    expect(parse([])).toEqual({ scheme: 'http', step: 30 });
    // The same spelling twice: the last, as for any flag.
    expect(parse(['-S', '5', '-S', '6'])).toEqual({ scheme: 'http', step: 6 });
  });

  it('one meaning under two spellings is refused, naming both', () => {
    expect(() => parse(['-s', '10', '-S', '20'])).toThrow('-s 10 and -S 20 both give the step: keep one (-s and -S each take the scheme or the step, told apart by the value)');
    expect(() => parse(['--scheme', 'http', '-S', 'https'])).toThrow('--scheme http and -S https both give the scheme: keep one');
  });
});
