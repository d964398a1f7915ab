// tsyringe needs the Reflect metadata polyfill before any container is built.
import 'reflect-metadata';
