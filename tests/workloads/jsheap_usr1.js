// Preloaded (node -r) by test_jsheap.c: the application takes SIGUSR1 for
// itself, so node's inspector never opens on it.
'use strict';
process.on('SIGUSR1', () => console.log('SIGUSR1 handled by the application'));
