// npm run demo:web: serves web-dist/ on localhost and prints the URL.
import { serve } from './static-server.mjs';

const port = Number(process.env.PORT ?? 8080);
const { url } = await serve({ '/': 'web-dist' }, port);
console.log(`the backprop explorer: ${url}/  (Ctrl-C to stop)`);
