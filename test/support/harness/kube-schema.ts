/**
 * Checks rendered Kubernetes objects against the API's schemas, two ways:
 * - kubernetes-models' validators (compiled from the Kubernetes OpenAPI spec): types, formats (quantities,
 *   ports), required fields, enums;
 * - unknown fields, which those schemas let through but `kubectl apply` refuses (field validation is
 *   Strict by default since Kubernetes 1.27): every key must be a property of the matching TypeScript
 *   interface kubernetes-models generates from the same spec, walked with the TypeScript checker.
 */
import { join } from 'node:path';
import ts from 'typescript';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';

interface Validatable {
  validate(): void;
}

interface KindEntry {
  /** The kubernetes-models class: `new Model(object).validate()` throws on a schema violation. */
  readonly model: new (data: never) => Validatable;
  /** Module and interface of its TypeScript type, for the unknown-field walk. */
  readonly typeModule: string;
  readonly typeName: string;
}

const KINDS: Readonly<Record<string, KindEntry>> = {
  'v1/Namespace': { model: Namespace, typeModule: 'kubernetes-models/v1/Namespace', typeName: 'INamespace' },
  'v1/ServiceAccount': { model: ServiceAccount, typeModule: 'kubernetes-models/v1/ServiceAccount', typeName: 'IServiceAccount' },
  'v1/ConfigMap': { model: ConfigMap, typeModule: 'kubernetes-models/v1/ConfigMap', typeName: 'IConfigMap' },
  'v1/Secret': { model: Secret, typeModule: 'kubernetes-models/v1/Secret', typeName: 'ISecret' },
  'v1/Service': { model: Service, typeModule: 'kubernetes-models/v1/Service', typeName: 'IService' },
  'apps/v1/DaemonSet': { model: DaemonSet, typeModule: 'kubernetes-models/apps/v1/DaemonSet', typeName: 'IDaemonSet' },
  'rbac.authorization.k8s.io/v1/ClusterRole': {
    model: ClusterRole,
    typeModule: 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole',
    typeName: 'IClusterRole',
  },
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': {
    model: ClusterRoleBinding,
    typeModule: 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding',
    typeName: 'IClusterRoleBinding',
  },
};

export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly [key: string]: unknown };
  readonly [key: string]: unknown;
}

/** Every schema problem of one object, as `Kind/name: path: what`; empty when it would be accepted. */
export function schemaProblems(object: KubeObject): string[] {
  const key = `${object.apiVersion}/${object.kind}`;
  const where = `${object.kind}/${object.metadata.name}`;
  const entry = KINDS[key];
  if (!entry) return [`${where}: no schema known for ${key} (add it to test/support/harness/kube-schema.ts)`];
  const problems: string[] = [];
  try {
    new entry.model(object as never).validate();
  } catch (err) {
    problems.push(`${where}: ${err instanceof Error ? err.message : String(err)}`);
  }
  for (const p of unknownFields(object, interfaceType(key))) problems.push(`${where}: ${p}`);
  return problems;
}

let checker: { readonly checker: ts.TypeChecker; readonly types: ReadonlyMap<string, ts.Type> } | null = null;

/** One TypeScript program over a virtual file importing every interface of KINDS (built once, ~1 s). */
function interfaceType(key: string): ts.Type {
  if (!checker) {
    const file = join(import.meta.dirname, '__kube-schema-types__.ts');
    const keys = Object.keys(KINDS);
    const text = keys.map((k, i) => `import type { ${KINDS[k]?.typeName} as T${i} } from '${KINDS[k]?.typeModule}';`).join('\n') +
      `\nexport type All = [${keys.map((_, i) => `T${i}`).join(', ')}];\n`;
    const options: ts.CompilerOptions = { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, strict: true, noEmit: true, skipLibCheck: true, types: [] };
    const host = ts.createCompilerHost(options);
    const { getSourceFile, fileExists, readFile } = host;
    host.fileExists = (f) => f === file || fileExists.call(host, f);
    host.readFile = (f) => (f === file ? text : readFile.call(host, f));
    host.getSourceFile = (f, v, onError) => (f === file ? ts.createSourceFile(f, text, v) : getSourceFile.call(host, f, v, onError));
    const program = ts.createProgram([file], options, host);
    const c = program.getTypeChecker();
    const source = program.getSourceFile(file);
    const types = new Map<string, ts.Type>();
    const imports = source?.statements.filter(ts.isImportDeclaration) ?? [];
    keys.forEach((k, i) => {
      const bindings = imports[i]?.importClause?.namedBindings;
      const spec = bindings && ts.isNamedImports(bindings) ? bindings.elements[0] : undefined;
      const symbol = spec ? c.getSymbolAtLocation(spec.name) : undefined;
      if (!symbol) throw new Error(`cannot resolve ${KINDS[k]?.typeName} from ${KINDS[k]?.typeModule}`);
      const type = c.getDeclaredTypeOfSymbol(c.getAliasedSymbol(symbol));
      if (c.getPropertiesOfType(type).length === 0) throw new Error(`${KINDS[k]?.typeName} resolved to a type without properties`);
      types.set(k, type);
    });
    checker = { checker: c, types };
  }
  const type = checker.types.get(key);
  if (!type) throw new Error(`no type for ${key}`);
  return type;
}

/** Keys of `value` (recursively) that are not properties of `type`, as JSON-ish paths. */
function unknownFields(value: unknown, type: ts.Type, path = ''): string[] {
  const c = checker?.checker;
  if (!c || value === null || typeof value !== 'object') return [];
  const t = withoutNullish(type);
  if (Array.isArray(value)) {
    const element = c.getIndexTypeOfType(t, ts.IndexKind.Number);
    return element ? value.flatMap((v, i) => unknownFields(v, element, `${path}[${i}]`)) : [];
  }
  // Maps (labels, annotations, data, resource quantities): any key is fine, values still walked.
  const mapValue = c.getIndexTypeOfType(t, ts.IndexKind.String);
  const out: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    const prop = c.getPropertyOfType(t, key);
    if (prop) out.push(...unknownFields(v, c.getTypeOfSymbol(prop), `${path}.${key}`));
    else if (mapValue) out.push(...unknownFields(v, mapValue, `${path}.${key}`));
    else out.push(`${path}.${key}: unknown field`);
  }
  return out;
}

function withoutNullish(type: ts.Type): ts.Type {
  if (!type.isUnion()) return type;
  const rest = type.types.filter((t) => (t.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null)) === 0);
  return rest.length === 1 && rest[0] ? rest[0] : type;
}
