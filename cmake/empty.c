/* libcoffer.so is made of the module archives (cmake/CofferModules.cmake). */
