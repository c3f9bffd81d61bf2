// comlink's package root resolves to a UMD build under Node ESM; import its ESM build directly.
// @ts-ignore -- the .mjs files ship their types as .d.ts next to them
import * as ComlinkModule from 'comlink/dist/esm/comlink.mjs';
// @ts-ignore
import nodeEndpointImpl from 'comlink/dist/esm/node-adapter.mjs';
import type * as ComlinkTypes from 'comlink';

export const Comlink = ComlinkModule as typeof ComlinkTypes;
export type Remote<T> = ComlinkTypes.Remote<T>;
export const nodeEndpoint = nodeEndpointImpl as (nep: unknown) => ComlinkTypes.Endpoint;
