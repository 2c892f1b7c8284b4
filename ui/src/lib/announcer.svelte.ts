// One polite live region for the whole app: status changes (a link arrived, a test passed) are
// read out without moving focus.

class Announcer {
  message = $state('');

  say(message: string) {
    // Clearing first makes a repeated identical message be announced again.
    this.message = '';
    queueMicrotask(() => {
      this.message = message;
    });
  }
}

export const announcer = new Announcer();
