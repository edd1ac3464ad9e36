// The banner every view shows above its content: the last error (with Retry when the host says it is
// retryable) and long work under way (with Cancel, in views whose scope has it). The view keeps showing its
// last data underneath.
import { clear, h } from './dom';
import { button, show } from './ui';

export class Banner {
  readonly el: HTMLElement;
  private readonly errorBox: HTMLElement;
  private readonly progressBox: HTMLElement;

  constructor(private readonly onRetry: () => void) {
    this.errorBox = h('div', { class: 'banner banner-error', role: 'alert', hidden: true });
    this.progressBox = h('div', { class: 'banner banner-progress', role: 'status', hidden: true });
    this.el = h('div', { class: 'banners' }, this.errorBox, this.progressBox);
  }

  showError(message: string, retryable: boolean): void {
    clear(this.errorBox);
    this.errorBox.append(
      h('span', { class: 'banner-icon', 'aria-hidden': 'true' }, '!'),
      h('span', { class: 'banner-text' }, show(message)),
      retryable ? button('Retry', () => this.onRetry(), { 'data-action': 'retry' }) : '',
    );
    this.errorBox.hidden = false;
  }

  clearError(): void {
    clear(this.errorBox);
    this.errorBox.hidden = true;
  }

  showProgress(message: string | null, onCancel: () => void): void {
    clear(this.progressBox);
    if (message === null) {
      this.progressBox.hidden = true;
      return;
    }
    this.progressBox.append(
      h('vscode-progress-ring', { 'aria-hidden': 'true' }),
      h('span', { class: 'banner-text' }, show(message)),
      button('Cancel', () => onCancel(), { secondary: true, 'data-action': 'cancel' }),
    );
    this.progressBox.hidden = false;
  }
}
