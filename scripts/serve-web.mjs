// npm run demo:web: serves web-dist/ on localhost, cross-origin isolated (COOP/COEP), and prints the URL.
import { serve } from './static-server.mjs';

const port = Number(process.env.PORT ?? 8080);
const { url } = await serve({ '/': 'web-dist' }, port, { isolated: true });
console.log(`the backprop explorer: ${url}/  (cross-origin isolated; Ctrl-C to stop)`);
