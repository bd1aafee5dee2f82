// The namespaces most files of the gateway use: the CoAP library, the grain contracts and the
// transport contract the CoAP side runs over. (Transport/ still refers to none of the CoAP or grain types.)
global using NHub.Coap;
global using NHub.Coap.Stack;
global using NHub.Gateway.Transport;
global using NHub.Grains;
