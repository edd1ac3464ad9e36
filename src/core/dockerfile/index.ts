// Dockerfile ↔ image layers: parse a Dockerfile, match its lines to a local image's history and
// layers, and describe each line's layer. No `vscode` import: the CLI and the extension share it.
export * from './parse';
export * from './history';
export * from './match';
export * from './describe';
