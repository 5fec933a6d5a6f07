// The Worker under test for the container path: the production entry, plus the stand-in Container class the
// CONVERTER binding points at in these tests (test/container-path/vitest.config.ts).
export { Converter, default, JobWaiter } from "../../src/index";
export { ConverterStandIn } from "./stand-in";
