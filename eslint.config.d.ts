// Types of eslint.config.js for the test that checks its module-state rule.
export declare const moduleState: Array<{ selector: string; message: string }>;
declare const config: unknown[];
export default config;
