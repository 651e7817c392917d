import * as Layer from "effect/Layer"
import * as DocumentCache from "../src/DocumentCache.js"
import * as DocumentKind from "../src/DocumentKind.js"
import { contract } from "./DocumentCache.contract.js"

contract("memory", (options) => DocumentCache.layerMemory(options).pipe(Layer.provide(DocumentKind.layerDefault)))
