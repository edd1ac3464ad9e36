// The @vscode-elements components the views use. Each is a Lit element styled through adoptedStyleSheets,
// so it renders under the webview's CSP (no inline <style>, no style attributes). None of these needs the
// codicon font: vscode-icon, vscode-tree, vscode-collapsible, vscode-toolbar-button and vscode-multi-select
// do, and are not used; vscode-button is only ever given a text label, never an icon.
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
