# plateau_add_plugin(NAME SOURCES src... [LIBS lib...] [INCLUDES dir...])
#
# Builds NAME.so as a Plateau plugin: hidden visibility (only the
# descriptor is exported), no undefined symbols (a missing library fails at
# build time, not at load time), no "lib" prefix. Inside the Plateau tree
# it lands next to the other plugins; out of tree, it builds against the
# installed SDK found by find_package(Plateau) or pkg-config.
function(plateau_add_plugin name)
  cmake_parse_arguments(P "" "" "SOURCES;LIBS;INCLUDES" ${ARGN})
  add_library(${name} MODULE ${P_SOURCES})
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    C_VISIBILITY_PRESET hidden
    C_STANDARD 11
    C_EXTENSIONS ON)
  if(NOT CMAKE_C_FLAGS MATCHES "sanitize" AND NOT PLATEAU_SANITIZE)
    target_link_options(${name} PRIVATE "LINKER:--no-undefined")
  endif()
  if(TARGET plateau_sdk)
    target_link_libraries(${name} PRIVATE plateau_sdk)
  elseif(TARGET Plateau::sdk)
    target_link_libraries(${name} PRIVATE Plateau::sdk)
  endif()
  if(P_LIBS)
    target_link_libraries(${name} PRIVATE ${P_LIBS})
  endif()
  if(P_INCLUDES)
    target_include_directories(${name} PRIVATE ${P_INCLUDES})
  endif()
  if(DEFINED PLATEAU_PLUGIN_OUTPUT_DIR)
    set_target_properties(${name} PROPERTIES
      LIBRARY_OUTPUT_DIRECTORY "${PLATEAU_PLUGIN_OUTPUT_DIR}")
  endif()
  if(DEFINED PLATEAU_PLUGIN_SUBDIR)
    install(TARGETS ${name} LIBRARY DESTINATION ${PLATEAU_PLUGIN_SUBDIR})
  endif()
endfunction()
