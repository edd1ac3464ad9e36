// Lets main.ts import the stylesheet for its side effect: esbuild emits it as dist/webview.css.
declare module '*.css';
