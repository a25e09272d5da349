/** The example agents `burrow serve --examples` (and so `npm start`) serves. */
export { Counter } from "./counter.js";
export { SupportDesk } from "./support-desk.js";
export { Triage, Specialist } from "./triage.js";
export { PhoneDesk } from "./phone-desk.js";
export { SandboxChat } from "./chat.js";
