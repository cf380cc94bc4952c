// GET/PUT P/config: the seed options (src/config.ts holds their one schema).
import { Type } from 'typebox'
import { PluginOptions } from '../config.js'

export const EffectiveOptions = Type.Object(PluginOptions.properties, {
  $id: 'EffectiveOptions',
  additionalProperties: false,
  description: 'The options in force: file (NODE_MANAGER_CONFIG) and environment, overridden by what PUT P/config persisted',
})

/** For the documentation: PUT is validated by the same code as the file (src/config.ts), so the 400 names the option and its range. */
export const OptionsUpdate = Type.Object(
  Object.fromEntries(Object.entries(PluginOptions.properties).map(([k, v]) => [k, Type.Optional(Type.Union([v, Type.Null()], { description: `${(v as { description?: string }).description ?? k}; null: back to the file/environment value` }))])),
  { additionalProperties: false, description: 'Any subset of the seed options; null removes an option set through PUT (back to the file/environment value). minNodes <= maxNodes; scaleDownThreshold < scaleUpThreshold.' },
)
