// Compiles chains/evm/contracts/*.sol with the pinned solc-js (standard-JSON API) and writes one
// artifact per deployable contract to chains/evm/artifacts/<Name>.json.
// With --check it compiles into a temporary directory instead and fails if the committed
// artifacts differ from what the sources compile to.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SOURCES_DIR = path.join(ROOT, 'chains/evm/contracts');
const ARTIFACTS_DIR = path.join(ROOT, 'chains/evm/artifacts');
const TOOLS_DIR = path.join(ROOT, '.tools');

// Pinned compiler settings: changing any of these changes every artifact.
const EVM_VERSION = 'cancun';
const OPTIMIZER_RUNS = 200;

function fail(message) {
    console.error(`[compile-contracts] error: ${message}`);
    process.exit(1);
}

function loadSolc() {
    const pinned = JSON.parse(fs.readFileSync(path.join(ROOT, 'scripts/npm/package.json'), 'utf8'))
        .dependencies.solc;
    const require = createRequire(path.join(TOOLS_DIR, 'package.json'));
    let solc;
    try {
        solc = require('solc');
    } catch {
        fail('solc-js is not installed in .tools/: run scripts/setup');
    }
    const version = solc.version();
    if (!version.startsWith(`${pinned}+`)) {
        fail(`solc-js in .tools/ is ${version}, scripts/npm/package.json pins ${pinned}: ` +
             'run scripts/setup');
    }
    return { solc, version: version.replace(/\.Emscripten\..*$/, '') };
}

function sha256(text) {
    return createHash('sha256').update(text).digest('hex');
}

function compile() {
    const { solc, version } = loadSolc();
    const files = fs.readdirSync(SOURCES_DIR).filter((f) => f.endsWith('.sol')).sort();
    if (files.length === 0) fail(`no .sol files in ${SOURCES_DIR}`);
    const sources = {};
    for (const file of files) {
        sources[file] = { content: fs.readFileSync(path.join(SOURCES_DIR, file), 'utf8') };
    }
    const input = {
        language: 'Solidity',
        sources,
        settings: {
            evmVersion: EVM_VERSION,
            optimizer: { enabled: true, runs: OPTIMIZER_RUNS },
            outputSelection: {
                '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] },
            },
        },
    };
    const output = JSON.parse(solc.compile(JSON.stringify(input)));
    const problems = output.errors ?? [];
    for (const problem of problems) console.error(problem.formattedMessage ?? problem.message);
    // Warnings fail the build too, like -Werror on the C++ side.
    if (problems.length > 0) fail(`solc reported ${problems.length} error(s)/warning(s)`);

    const artifacts = {};
    for (const file of files) {
        for (const [name, contract] of Object.entries(output.contracts[file] ?? {})) {
            const bytecode = contract.evm.bytecode.object;
            if (bytecode.length === 0) continue; // interfaces and abstract contracts
            artifacts[`${name}.json`] = JSON.stringify(
                {
                    contractName: name,
                    abi: contract.abi,
                    bytecode: `0x${bytecode}`,
                    deployedBytecode: `0x${contract.evm.deployedBytecode.object}`,
                    solcVersion: version,
                    sourceSha256: sha256(sources[file].content),
                },
                null,
                2,
            ) + '\n';
        }
    }
    return artifacts;
}

function writeAll(dir, artifacts) {
    fs.mkdirSync(dir, { recursive: true });
    for (const [file, text] of Object.entries(artifacts)) {
        fs.writeFileSync(path.join(dir, file), text);
    }
}

function differingFields(committedText, freshText) {
    let committed;
    try {
        committed = JSON.parse(committedText);
    } catch {
        return ['(not valid JSON)'];
    }
    const fresh = JSON.parse(freshText);
    const keys = new Set([...Object.keys(committed), ...Object.keys(fresh)]);
    const fields = [...keys].filter(
        (k) => JSON.stringify(committed[k]) !== JSON.stringify(fresh[k]));
    return fields.length > 0 ? fields : ['(formatting)'];
}

function check(artifacts) {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-contracts-'));
    try {
        writeAll(tmp, artifacts);
        const committed = fs.existsSync(ARTIFACTS_DIR)
            ? fs.readdirSync(ARTIFACTS_DIR).filter((f) => f.endsWith('.json'))
            : [];
        const messages = [];
        for (const file of Object.keys(artifacts).sort()) {
            const committedPath = path.join(ARTIFACTS_DIR, file);
            if (!fs.existsSync(committedPath)) {
                messages.push(`  ${file}: missing from chains/evm/artifacts/`);
                continue;
            }
            const committedText = fs.readFileSync(committedPath, 'utf8');
            const freshText = fs.readFileSync(path.join(tmp, file), 'utf8');
            if (committedText !== freshText) {
                const fields = differingFields(committedText, freshText);
                messages.push(`  ${file}: differs in ${fields.join(', ')}`);
            }
        }
        for (const file of committed.sort()) {
            if (!(file in artifacts)) {
                messages.push(`  ${file}: no contract in the sources produces it`);
            }
        }
        if (messages.length > 0) {
            console.error('[compile-contracts] committed artifacts do not match the sources:');
            for (const m of messages) console.error(m);
            console.error('[compile-contracts] run scripts/compile-contracts and commit ' +
                          'chains/evm/artifacts/');
            process.exit(1);
        }
        const count = Object.keys(artifacts).length;
        console.log(`[compile-contracts] ${count} artifacts match the sources`);
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
}

const args = process.argv.slice(2);
if (args.some((a) => a !== '--check')) {
    fail(`unknown argument(s): ${args.join(' ')} (only --check)`);
}
const artifacts = compile();
if (args.includes('--check')) {
    check(artifacts);
} else {
    writeAll(ARTIFACTS_DIR, artifacts);
    for (const file of Object.keys(artifacts).sort()) {
        console.log(`[compile-contracts] wrote chains/evm/artifacts/${file}`);
    }
}
