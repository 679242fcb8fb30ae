// Copies non-TypeScript assets the compiled code loads at run time (.proto files) into dist/.
import { cpSync, mkdirSync } from 'node:fs';
mkdirSync('dist/src/proto', { recursive: true });
cpSync('src/proto', 'dist/src/proto', { recursive: true, filter: (p) => !p.endsWith('.ts') });
