/** The example agents `burrow serve --examples` (and so `npm start`) serves. */
export { Counter } from "./counter.js";
