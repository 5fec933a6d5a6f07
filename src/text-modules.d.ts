// Files bundled as text by the wrangler `[[rules]]` of type Text (wrangler.toml): the import is the file's content.
declare module "swagger-ui-dist/swagger-ui-bundle.js" {
  const text: string;
  export default text;
}
declare module "swagger-ui-dist/swagger-ui.css" {
  const text: string;
  export default text;
}
