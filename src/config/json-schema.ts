// The published JSON Schema, derived from the zod schema (never kept by hand).
import { z } from 'zod';
import { Config } from './schema.js';

export function configJsonSchema(): string {
  const schema = z.toJSONSchema(Config, { io: 'input', target: 'draft-2020-12' });
  return `${JSON.stringify(
    {
      ...schema,
      $id: 'https://junction.dev/schema/junction.schema.json',
      title: 'Junction routing config',
    },
    null,
    2,
  )}\n`;
}
