// A plain-Node Lambda Runtime API client: the fallback when aws-lambda-ric (a native addon built
// with autotools and cmake) cannot be installed. `node sandbox/lambda_runtime.mjs file.function`
// in the task root, with AWS_LAMBDA_RUNTIME_API set: loads the handler (CommonJS .js/.cjs or ES
// module .mjs; a failure goes to /init/error as Runtime.ImportModuleError or
// Runtime.HandlerNotFound), then loops on /invocation/next, awaiting an async handler or taking a
// callback's result, and posts /response or /error ({errorType, errorMessage, trace}, as AWS's
// Node runtime does). Not covered: response streaming, context.callbackWaitsForEmptyEventLoop.
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(":");
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const API = "/2018-06-01/runtime";

function call(method, route, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(body);
    const request = http.request({ host, port, method, path: API + route, agent,
      headers: { ...headers, ...(data ? { "Content-Length": data.length } : {}) } }, (response) => {
      const chunks = [];
      response.on("data", (chunk) => chunks.push(chunk));
      response.on("end", () => resolve({ status: response.statusCode, headers: response.headers, body: Buffer.concat(chunks) }));
    });
    request.on("error", reject);
    request.end(data);
  });
}

function errorPayload(error, errorType) {
  const err = error instanceof Error ? error : new Error(String(error));
  return { errorType: errorType || err.name || "Error", errorMessage: err.message,
    trace: (err.stack || "").split("\n") };
}

function postError(route, error, errorType) {
  const payload = errorPayload(error, errorType);
  console.error(`ERROR\t${JSON.stringify(payload)}`);
  return call("POST", route, JSON.stringify(payload),
    { "Content-Type": "application/json", "Lambda-Runtime-Function-Error-Type": payload.errorType });
}

async function loadHandler(root, handlerName) {
  const dot = handlerName.lastIndexOf(".");
  const moduleName = handlerName.slice(0, dot), functionName = handlerName.slice(dot + 1);
  const base = path.resolve(root, moduleName);
  const file = [".js", ".mjs", ".cjs"].map((ext) => base + ext).find((f) => fs.existsSync(f));
  if (!file) {
    const error = new Error(`Cannot find module '${moduleName}'`);
    error.errorType = "Runtime.ImportModuleError";
    throw error;
  }
  let mod;
  if (file.endsWith(".mjs")) {
    mod = await import(pathToFileURL(file).href);
  } else {
    try {
      mod = createRequire(path.join(root, "index.js"))(file);
    } catch (error) {
      if (error.code !== "ERR_REQUIRE_ESM") throw error;
      mod = await import(pathToFileURL(file).href);
    }
  }
  const handler = mod[functionName] ?? mod.default?.[functionName];
  if (typeof handler !== "function") {
    const error = new Error(`${handlerName} is undefined or not exported`);
    error.errorType = "Runtime.HandlerNotFound";
    throw error;
  }
  return handler;
}

function invokeHandler(handler, event, context) {
  return new Promise((resolve, reject) => {
    const callback = (error, result) => (error ? reject(error) : resolve(result));
    try {
      const returned = handler(event, context, callback);
      if (returned && typeof returned.then === "function") returned.then(resolve, reject);
      else if (handler.length < 3) resolve(returned);
    } catch (error) {
      reject(error);
    }
  });
}

async function main() {
  const root = process.env.LAMBDA_TASK_ROOT || process.cwd();
  const handlerName = process.argv[2] || process.env._HANDLER;
  let handler;
  try {
    handler = await loadHandler(root, handlerName);
  } catch (error) {
    await postError("/init/error", error, error.errorType || "Runtime.ImportModuleError");
    process.exit(1);
  }
  for (;;) {
    const next = await call("GET", "/invocation/next");
    if (next.status !== 200) process.exit(1);
    const requestId = next.headers["lambda-runtime-aws-request-id"];
    const deadline = Number(next.headers["lambda-runtime-deadline-ms"] || 0);
    process.env._X_AMZN_TRACE_ID = next.headers["lambda-runtime-trace-id"] || "";
    const context = {
      awsRequestId: requestId, invokedFunctionArn: next.headers["lambda-runtime-invoked-function-arn"],
      functionName: process.env.AWS_LAMBDA_FUNCTION_NAME, functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
      memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE, logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
      logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME, callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    };
    try {
      const event = next.body.length ? JSON.parse(next.body.toString()) : {};
      const result = await invokeHandler(handler, event, context);
      await call("POST", `/invocation/${requestId}/response`, JSON.stringify(result === undefined ? null : result),
        { "Content-Type": "application/json" });
    } catch (error) {
      await postError(`/invocation/${requestId}/error`, error);
    }
  }
}

main();
