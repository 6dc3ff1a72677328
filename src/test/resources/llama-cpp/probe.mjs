// Loads a GGUF file with llama.cpp (node-llama-cpp's prebuilt CPU binaries) and prints, as one JSON line, the ids
// llama.cpp tokenizes a prompt into (special tokens parsed, nothing added) and its greedy continuation.
//   node probe.mjs FILE.gguf PROMPT_FILE NEW_TOKENS
import {getLlama, LlamaLogLevel} from "node-llama-cpp";
import fs from "node:fs";

const [file, promptFile, n] = process.argv.slice(2);
const prompt = fs.readFileSync(promptFile, "utf8");
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});
const model = await llama.loadModel({modelPath: file});
const tokens = Array.from(model.tokenize(prompt, true));
const context = await model.createContext({contextSize: 512, threads: 1});
const generated = [];
for await (const t of context.getSequence().evaluate(tokens, {temperature: 0})) {
    generated.push(t);
    if (generated.length >= Number(n)) {
        break;
    }
}
console.log(JSON.stringify({tokens, generated, architecture: model.fileInfo.metadata.general.architecture}));
await llama.dispose();
