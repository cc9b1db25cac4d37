/**
 * `node:http` and `node:https` in the build without Node-only imports (dist/web.js), for the
 * modules that import them but are not used there (`oauth2`, refused at construction by
 * runtime-support.ts).
 */
function request(): never {
  throw new Error('node:http is not available in this runtime');
}

export default { request };
export { request };
