import type { ElementDefinition, StructureDefinition } from 'fhir/r4.js';
import { childrenByPath, isChoice, lastSegment, maxOf, pathStep, propertyNames } from './elements.js';
import type { PrimitiveType } from './primitives.js';
import type { DefinitionRegistry } from './registry.js';

export const TYPES_ID = 'fhir:types';
type Schema = Record<string, unknown>;

/** What the custom `fhirObject` keyword checks: FHIR cardinality rules JSON Schema cannot say directly. */
export interface ObjectRules {
  /** Required elements: each entry lists the JSON properties any of which satisfies it (incl. `_x`). */
  required: { name: string; props: string[] }[];
  /** Choice elements: at most one of these properties may appear. */
  choices: { name: string; props: string[] }[];
  /** ele-1 on data types and backbone elements: an element must hold more than an id. */
  ele1: boolean;
  /** ext-1 on Extension: either nested extensions or a value, not both (and not neither). */
  ext1?: boolean;
  /** Repeating primitive elements: their value array and `_` array line up item by item (json.html#primitive). */
  primitiveArrays: string[];
}

/** How JSON properties of one definition map to FHIRPath steps, to turn ajv's JSON pointers into FHIRPath. */
export type PathModel = Map<string, Map<string, { step: string; next?: string }>>;

/**
 * Generates ajv JSON Schemas for FHIR R4 out of the StructureDefinitions (the official JSON schema
 * is not in the package): one shared schema of data types, one per resource type on demand.
 */
export class SchemaFactory {
  readonly paths: PathModel = new Map();

  constructor(
    private readonly registry: DefinitionRegistry,
    private readonly primitives: ReadonlyMap<string, PrimitiveType>,
  ) {}

  typesSchema(): Schema {
    const definitions: Record<string, Schema> = {
      Resource: { type: 'object', required: ['resourceType'], properties: { resourceType: { type: 'string' } } },
    };
    for (const sd of this.registry.baseByType.values()) {
      if (sd.kind !== 'complex-type') continue;
      this.addDefinitions(sd, definitions, `${TYPES_ID}#/definitions/`);
    }
    const element = definitions['Element'];
    // An item of a `_x` array: whether it holds more than an id depends on the value array
    // beside it, so its ele-1 is checked from the object holding both (ObjectRules.primitiveArrays).
    if (element) definitions['Element?'] = { ...element, type: ['object', 'null'], fhirObject: { ...(element.fhirObject as ObjectRules), ele1: false } };
    return { $id: TYPES_ID, definitions };
  }

  resourceSchema(type: string): Schema | undefined {
    const sd = this.registry.baseByType.get(type);
    if (!sd || sd.kind !== 'resource' || sd.abstract) return undefined;
    const definitions: Record<string, Schema> = {};
    this.addDefinitions(sd, definitions, '#/definitions/');
    return { $id: `fhir:resource:${type}`, $ref: `#/definitions/${type}`, definitions };
  }

  private addDefinitions(sd: StructureDefinition, out: Record<string, Schema>, localPrefix: string): void {
    const children = childrenByPath(sd);
    const isResource = sd.kind === 'resource';
    const build = (path: string, isRoot: boolean) => {
      const properties: Record<string, Schema> = {};
      const rules: ObjectRules = { required: [], choices: [], ele1: !isRoot || !isResource, ext1: isRoot && sd.type === 'Extension', primitiveArrays: [] };
      const model = new Map<string, { step: string; next?: string }>();
      if (isRoot && isResource) properties['resourceType'] = { const: sd.type };
      for (const el of children.get(path) ?? []) {
        const many = maxOf(el.max) > 1;
        const names = propertyNames(el);
        const allProps: string[] = [];
        const hasChildren = children.has(el.path);
        for (const { prop, type } of names) {
          const isRootId = isRoot && isResource && el.base?.path === 'Resource.id';
          const effectiveType = isRootId ? 'id' : type;
          const item = this.itemSchema(el, effectiveType, hasChildren, many, localPrefix);
          properties[prop] = many ? { type: 'array', minItems: 1, items: item } : item;
          allProps.push(prop);
          const next = el.contentReference
            ? el.contentReference.slice(1)
            : hasChildren
              ? el.path
              : this.primitives.has(effectiveType)
                ? undefined
                : effectiveType;
          model.set(prop, { step: pathStep(el, prop, type), next });
          if (this.primitives.has(effectiveType)) {
            properties[`_${prop}`] = many
              ? { type: 'array', minItems: 1, items: { $ref: `${TYPES_ID}#/definitions/Element?` } }
              : { $ref: `${TYPES_ID}#/definitions/Element` };
            allProps.push(`_${prop}`);
            model.set(`_${prop}`, { step: pathStep(el, prop, type), next: 'Element' });
            if (many) rules.primitiveArrays.push(prop);
          }
        }
        const name = lastSegment(el.path);
        if ((el.min ?? 0) > 0) rules.required.push({ name, props: allProps });
        if (isChoice(name) && names.length > 1) rules.choices.push({ name, props: allProps });
        if (hasChildren) build(el.path, false);
      }
      const def: Schema = {
        type: 'object',
        properties,
        additionalProperties: false,
        minProperties: 1,
        fhirObject: rules,
      };
      if (isRoot && isResource) def['required'] = ['resourceType'];
      out[path] = def;
      this.paths.set(path, model);
    };
    build(sd.type, true);
  }

  private itemSchema(el: ElementDefinition, type: string, hasChildren: boolean, many: boolean, localPrefix: string): Schema {
    if (el.contentReference) return { $ref: `${localPrefix}${el.contentReference.slice(1)}` };
    if (hasChildren) return { $ref: `${localPrefix}${el.path}` };
    const prim = this.primitives.get(type);
    if (prim) return { type: many ? [prim.jsonType, 'null'] : prim.jsonType, fhirPrimitive: type };
    if (type === 'Resource' || this.registry.isResourceType(type)) return { $ref: `${TYPES_ID}#/definitions/Resource` };
    if (!type) return {};
    return { $ref: `${TYPES_ID}#/definitions/${type}` };
  }
}
